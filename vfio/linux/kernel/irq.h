// Level-triggered interrupt lines as the kernel's irq core runs them for INTx (kernel/irq,
// reduced to what vfio-pci uses): request_irq() puts a handler on a line, several when all ask
// for IRQF_SHARED; a flow thread per line runs every handler while the line is asserted, and
// again each time its level changes (a second device asserting a shared line, or the first one
// asserting anew after being unmasked). Handlers run in the line's own simulated thread.
//
// Not modelled: threaded handlers, disable_irq()/enable_irq() depth (vfio-pci uses them only
// for devices without INTx masking, which the models do not have), spurious-interrupt detection.
#pragma once

#include <functional>
#include <map>

#include "models/cpu/interrupt_controller.h"

namespace vfiosim::kernel {

class IrqLines {
 public:
  explicit IrqLines(InterruptController& ic) : ic_(ic) {}

  /// Returns IRQ_HANDLED (true) when the interrupt was its device's.
  using Handler = std::function<bool()>;
  /// request_irq(): 0, -EINVAL for line 0, -EBUSY when the line is taken and not both shared.
  int request_irq(unsigned irq, Handler handler, bool shared, const void* dev_id);
  /// free_irq()
  void free_irq(unsigned irq, const void* dev_id);
  /// Handler invocations on `irq` that returned IRQ_HANDLED.
  uint64_t handled(unsigned irq) const;

 private:
  struct Line {
    std::map<const void*, std::pair<Handler, bool>> actions;  // dev_id -> (handler, shared)
    bool flow_running = false;
    uint64_t handled = 0;
  };
  void flow(unsigned irq);
  InterruptController& ic_;
  std::map<unsigned, Line> lines_;
};

}  // namespace vfiosim::kernel
