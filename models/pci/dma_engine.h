// The vfiosim DMA engine: a PCIe endpoint that moves data between itself and host memory when a
// driver programs its BAR0 registers (docs/dma-engine.md), then signals completion with MSI-X.
//
// What it models: the register file; a job of `COUNT` requests of `SIZE` bytes, sequential or
// uniformly random slots in a window, at most `OUTSTANDING` (<= tags) in flight, one request
// issued per `issue_cycles` of its clock; every request travels as real TLPs through the root
// complex (splitting, links, switches, memory, completions) with its requester ID; written data is
// a seeded pattern and reads can verify it; results (bandwidth inputs, latency percentiles) in
// registers and stats; MSI with multiple messages; MSI-X table and PBA in BAR0 with per-vector
// and function masking and pending bits (both enabled at once: an error, nothing sent); the MSI-X message is ordered behind the job's data writes; FLR stops nothing
// in flight but resets every register (a job running across an FLR completes without an
// interrupt).
// BARs after BAR0 are plain device memory that peers can read and write.
// SR-IOV: a PF may carry an SR-IOV capability; its VFs are DMA engines of their own (registers
// and MSI-X in VF BAR0, their own requester IDs) that exist while VF Enable is set.
// INTx: with MSI and MSI-X off, a completion asserts INTA until the driver clears STATUS.DONE
// (level-triggered; Command.INTX_DISABLE masks it, Status bit 3 shows it either way).
// What it does not model: descriptor rings, ATS/PASID requests, 10-bit tags.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <systemc>

#include "models/memory/sparse_store.h"
#include "models/pci/dma_engine_regs.h"
#include "models/pci/function.h"
#include "models/pci/vpd.h"
#include "models/pci/root_complex.h"
#include "models/pci/sriov.h"
#include "models/traffic/workload_loop.h"
#include "sim/base/clock.h"

namespace vfiosim::pci {

/// A capability the engine carries without implementing it (its registers read 0 and take no
/// writes), to show how software treats capabilities it does or does not know.
struct RawCapability {
  uint16_t id = 0;
  uint16_t length = 4;  // bytes, header included
  bool extended = false;
  uint8_t version = 1;  // extended capabilities
};

struct DmaEngineParams {
  uint64_t clock_mhz = 250;
  uint64_t issue_cycles = 1;
  uint32_t tags = 64;         // outstanding non-posted requests the engine can track
  PcieCapSpec pcie;           // link capability, MPS supported, FLR
  uint16_t acs = 0;           // ACS capability bits (0: no ACS capability)
  bool ats = false;
  bool pasid = false;
  bool multifunction = false;  // header type bit 7 (set on function 0 of a multi-function device)
  bool func1_alias = false;    // quirk: DMA carries function 1's requester ID (device ID 0x0d0f)
  bool rc_integrated = false;  // a root complex integrated endpoint (no link)
  bool conventional = false;   // a conventional PCI function: 256-byte config space, no PCIe capability
  std::vector<uint64_t> bars = {dmae::kBar0Size};  // BAR sizes; BAR0 holds the registers (>= 16 KiB)
  SriovSpec sriov;                 // a PF with VFs when total_vfs > 0 (with an ARI capability)
  bool virtual_function = false;   // an SR-IOV VF: IDs read 0xFFFF, BARs through the PF, MSI-X only
  /// Standard ones go right after the PM capability, extended ones first in the extended list.
  std::vector<RawCapability> extra_capabilities;
  bool vpd = false;                // a VPD capability with a small VPD image (models/pci/vpd.h)
  uint64_t vpd_access_ns = 2000;   // the VPD store's time per dword
  uint32_t rom = 0;                // expansion ROM BAR size (0: none); holds an option ROM image
};

class DmaEngine : public sc_core::sc_module, public PciFunction {
 public:
  DmaEngine(const sc_core::sc_module_name& name, uint8_t devfn, const DmaEngineParams& params, RootComplex& rc,
            stats::Group& parent, uint64_t seed, TraceWriter* trace);

  tlm::tlm_response_status bar_access(int bar, uint64_t offset, bool write, uint8_t* data, unsigned len,
                                      uint64_t arrival_ps, sc_core::sc_time& delay) override;

  const DmaEngineParams& params() const { return params_; }
  /// Device memory behind BAR `bar` (1..5), for tests and checks; nullptr for BAR0 or none.
  SparseStore* bar_memory(int bar) { return bar >= 1 && bar < static_cast<int>(bar_memory_.size()) ? bar_memory_[bar].get() : nullptr; }
  uint16_t dma_rid() const override;
  const PciFunction* physfn() const override { return pf_; }
  uint64_t jobs() const { return jobs_.value(); }

  // SR-IOV. A PF's VFs are built at elaboration and attached in order; they exist only while
  // the PF's capability enables them.
  /// Makes `vf` (built with virtual_function) this PF's VF number vfs().size() (0-based).
  void attach_vf(DmaEngine& vf);
  const std::vector<DmaEngine*>& vfs() const { return vfs_; }
  uint16_t sriov_cap() const { return sriov_cap_; }
  bool present() const override;
  uint32_t device_control() const override { return pf_ ? pf_->device_control() : PciFunction::device_control(); }
  std::optional<BarHit> decode_memory(uint64_t addr, uint64_t len) const override;

 protected:
  void on_reset() override;
  void on_config_write(uint32_t offset, unsigned len, uint32_t old_value, uint32_t new_value) override;

 private:
  void engine();
  void sriov_write();
  Workload job_from_registers() const;
  void publish(const WorkloadResult& r);
  void raise_msix(unsigned vector);
  /// INTx: the line follows (interrupt condition && !Command.INTX_DISABLE); Status bit 3 shows
  /// the condition. A change sends Assert_INTA / Deassert_INTA.
  void update_intx();
  void raise_msi(unsigned vector);
  bool msix_enabled() const;
  bool msix_function_masked() const;
  uint64_t reg64(uint32_t off) const;
  void set_reg64(uint32_t off, uint64_t v);

  DmaEngineParams params_;
  RootComplex& rc_;
  ClockDomain clock_;
  uint64_t seed_;
  TraceWriter* trace_;
  int track_ = 0;
  uint16_t msix_cap_ = 0;
  uint16_t msi_cap_ = 0;
  std::array<uint8_t, 0x100> regs_{};
  std::array<uint8_t, dmae::kMsixVectors * 16> msix_table_{};
  uint64_t pba_ = 0;
  sc_core::sc_event kick_;
  std::unique_ptr<Vpd> vpd_;
  std::vector<uint8_t> rom_image_;  // the option ROM behind the ROM BAR
  uint64_t generation_ = 0;  // bumped by FLR: a job started before it raises no interrupt
  std::vector<std::unique_ptr<SparseStore>> bar_memory_;  // BAR1..: device memory (peer-to-peer targets)
  uint16_t sriov_cap_ = 0;
  std::vector<DmaEngine*> vfs_;   // PF: its VFs
  DmaEngine* pf_ = nullptr;       // VF: its PF
  unsigned vf_index_ = 0;         // VF: 0-based VF number
  uint16_t latched_num_vfs_ = 0;  // PF: NumVFs when VF Enable was set (read-only while set)
  bool sriov_enabled_ = false;
  bool intx_condition_ = false;  // a completion interrupt is pending (STATUS.DONE not yet cleared)
  bool intx_asserted_ = false;   // Assert_INTA sent, Deassert_INTA not yet

  stats::Group& stats_;
  WorkloadStats wstats_;
  stats::Counter& jobs_;
  stats::Counter& interrupts_;
  stats::Counter& interrupts_pending_;
  stats::Gauge& last_bandwidth_;
  stats::Counter& resets_stat_;
  stats::Counter& interrupt_errors_;
};

}  // namespace vfiosim::pci
