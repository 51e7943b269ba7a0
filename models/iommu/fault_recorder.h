// Primary fault logging of a VT-d unit: NFR fault-recording registers (FRCD) filled round-robin,
// FSTS.FRI naming the register of the first pending fault (set when PPF goes from 0 to 1), the overflow flag PFO when the next register still holds an unserviced fault, PPF as
// the OR of the registers' F bits, and the fault event (an MSI through FEDATA/FEADDR, or FECTL.IP
// when masked) when PPF or PFO becomes set. Software clears F by writing 1 to it, and PFO likewise.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace vfiosim::iommu {

class FaultRecorder {
 public:
  using Interrupt = std::function<void(uint64_t addr, uint32_t data, uint64_t t_ps)>;
  FaultRecorder(unsigned nfr, Interrupt raise) : regs_(nfr), raise_(std::move(raise)) {}

  /// Logs a fault at `t_ps`; returns false when it was dropped (overflow).
  bool record(uint8_t reason, uint16_t sid, uint64_t addr, bool read, uint64_t t_ps);

  // Register accesses (offsets within the FRCD block, 16 bytes per register).
  uint64_t read_frcd(uint32_t off) const;
  void write_frcd(uint32_t off, unsigned len, uint64_t value);
  uint32_t fsts() const;
  void write_fsts(uint32_t value);  // RW1C: PFO (IQE/ICE/ITE are kept by the caller)
  uint32_t fectl() const { return fectl_; }
  void write_fectl(uint32_t value, uint64_t t_ps);
  uint32_t fedata = 0;
  uint64_t feaddr = 0;  // FEADDR | FEUADDR << 32

  /// A fault event for a condition other than primary logging (an invalidation queue error): the
  /// MSI now, or FECTL.IP held until software unmasks, as for recorded faults.
  void error_event(uint64_t t_ps) { event(t_ps); }

  unsigned size() const { return static_cast<unsigned>(regs_.size()); }
  uint64_t overflows() const { return overflows_; }

 private:
  struct Frcd {
    uint64_t lo = 0;
    uint64_t hi = 0;
  };
  bool ppf() const;
  void event(uint64_t t_ps);

  std::vector<Frcd> regs_;
  unsigned fri_ = 0;   // first pending record, as FSTS.FRI reports it
  unsigned next_ = 0;  // the register the next fault goes to
  bool pfo_ = false;
  uint32_t fectl_ = 1u << 31;  // IM set at reset
  bool pending_ = false;       // an event was held back by IM
  uint64_t overflows_ = 0;
  Interrupt raise_;
};

}  // namespace vfiosim::iommu
