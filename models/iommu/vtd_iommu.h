// A VT-d-style DMA remapping unit between the root complex and memory.
//
// Sockets: `upstream` takes device requests from the root complex (requester ID in the
// PcieExtension) and forwards them, translated, through `memory`; the same socket carries the
// unit's own table reads, descriptor fetches and status writes, all timed. `regs` is the 4 KiB
// register page the CPU reaches by MMIO. Interrupts (fault event, invalidation completion) are MSI
// writes handed to `on_interrupt`.
//
// While GSTS.TES is clear requests pass untranslated. With translation on, each request is
// translated by the `Translator` (caches and walkers, arithmetic timing) and only then reaches
// memory; a fault never lets it through: it is logged (fault recorder, report event, trace), the
// request completes with an error response, and the run goes on.
// Not modelled: register-based invalidation beyond context/IOTLB global and domain, advanced
// fault logging, protected memory regions, interrupt remapping, scalable mode, ATS.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/iommu/fault_recorder.h"
#include "models/iommu/invalidation_queue.h"
#include "models/iommu/translator.h"
#include "models/iommu/vtd_params.h"
#include "sim/base/clock.h"
#include "sim/base/event_log.h"
#include "sim/base/trace_writer.h"
#include "sim/stats/group.h"

namespace vfiosim::iommu {

class VtdIommu : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<VtdIommu> upstream;
  tlm_utils::simple_initiator_socket<VtdIommu> memory;
  tlm_utils::simple_target_socket<VtdIommu> regs;

  using Interrupt = std::function<void(uint16_t rid, uint64_t addr, uint32_t data, uint64_t t_ps)>;

  VtdIommu(const sc_core::sc_module_name& name, const VtdParams& params, stats::Group& parent, uint64_t seed,
           TraceWriter* trace, EventLog* events);
  ~VtdIommu() override;

  void on_interrupt(Interrupt fn) { interrupt_ = std::move(fn); }
  const VtdParams& params() const { return params_; }
  stats::Group& stats() { return stats_; }
  bool translation_enabled() const { return gsts_ & 0x80000000u; }
  const Translator& translator() const { return *xlat_; }

 private:
  void upstream_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  void reg_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  uint64_t reg_read(uint32_t off, unsigned len);
  void reg_write(uint32_t off, unsigned len, uint64_t value, uint64_t t_ps);
  void write_gcmd(uint32_t value);
  void qi_thread();
  bool table_read(uint64_t addr, void* dst, unsigned len, uint64_t t_ps, uint64_t& done_ps);
  bool thread_access(tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len);
  void raise(uint64_t addr, uint32_t data, uint64_t t_ps);
  void fault(uint8_t reason, uint16_t rid, uint64_t addr, bool read, uint64_t t_ps, uint64_t dma_id);

  VtdParams params_;
  ClockDomain clock_;
  stats::Group& stats_;
  TraceWriter* trace_;
  int walk_track_ = -1;
  int qi_track_ = -1;
  EventLog* events_;
  Interrupt interrupt_;
  uint64_t cap_;
  uint64_t ecap_;
  uint32_t fro_;
  uint32_t gsts_ = 0;
  uint64_t rtaddr_ = 0;
  uint64_t ccmd_ = 0;
  uint64_t iotlb_reg_ = 0;
  tlm::tlm_generic_payload table_trans_;
  std::unique_ptr<Translator> xlat_;
  std::unique_ptr<FaultRecorder> faults_;
  std::unique_ptr<InvalidationQueue> qi_;
  sc_core::sc_event qi_kick_;

  stats::Counter& requests_;
  stats::Counter& translated_;
  stats::Counter& untranslated_;
  stats::Counter& faults_total_;
  stats::Counter& faults_dropped_;
  stats::Group& faults_by_reason_;
  stats::Counter& interrupts_;
  stats::Histogram& latency_;
};

}  // namespace vfiosim::iommu
