// vfio-pci (drivers/vfio/pci/vfio_pci.c + vfio_pci_core.c, v6.1.y): a PCI driver with
// driver_managed_dma that binds through driver_override, embeds its vfio_device in
// vfio_pci_core_device, enables/resets the function on first open and last close, and answers
// DEVICE_GET_INFO, GET_REGION_INFO (BARs, ROM, config space; offsets index << 40), GET_IRQ_INFO
// (INTx, MSI, MSI-X, ERR, REQ), SET_IRQS, RESET (function-level reset with the config state saved
// and restored), region read/write (virtualised config space, memory BARs through MMIO of the
// calling thread), `match` with "vf_token=" and `request` (the REQ eventfd, or the "blocked until
// released" notice), `mmap` of BARs.
// Config space goes through VfioPciConfig (vfio_pci_config.c); SET_IRQS drives MSI, MSI-X, REQ and ERR
// with eventfds (vfio_pci_intrs.c); the MSI-X table is protected in BAR accesses.
// SR-IOV (vfio_pci_core.c): sriov_configure behind the enable_sriov parameter, VFs of a vfio-pci
// PF get driver_override "vfio-pci" from the PF's bus notifier, and the VF token rules of
// vfio_pci_validate_vf_token() (set through VFIO_DEVICE_FEATURE_PCI_VF_TOKEN or "vf_token=").
// Hot reset (GET_PCI_HOT_RESET_INFO / PCI_HOT_RESET) resets the bus below the parent bridge for
// the device set (devices share a set per bus). Not ported yet: the INTx unmask eventfd (virqfd),
// slot reset, VGA and the IGD/NVLink extras. BARs mmap (vfio_pci_core_mmap) as VM_PFNMAP areas
// whose accesses fault with SIGBUS while memory decode is off.
#pragma once

#include <array>
#include <memory>

#include "models/cpu/host_port.h"
#include "vfio/linux/fs/eventfd.h"
#include "vfio/linux/kernel/irq/irqdesc.h"
#include "vfio/linux/drivers/pci/msi/msi.h"
#include "vfio/linux/drivers/vfio/pci/vfio_pci_config.h"
#include "vfio/linux/drivers/pci/pci-driver.h"
#include "vfio/linux/drivers/pci/iov.h"
#include "vfio/linux/drivers/vfio/vfio.h"
#include "vfio/linux/drivers/vfio/virqfd.h"

namespace vfiosim::kernel {

/// struct pci_saved_state as pci_save_state() keeps it here: the header, PCI Express Device
/// Control and MSI-X Message Control.
struct pci_saved_state {
  uint32_t header[16] = {};
  uint32_t devctl = 0;
  uint32_t msix = 0;
};

struct vfio_pci_core_device {
  vfio_device vdev;  // must stay the first member (vfio_alloc_device checks it)
  pci_dev* pdev = nullptr;
  bool reset_works = false;
  uint8_t msi_cap = 0;
  unsigned msi_vectors = 0;
  unsigned msix_vectors = 0;
  uint8_t irq_pin = 0;
  uint32_t saved_command = 0;
  unsigned requests = 0;  // @request calls
  // Interrupts (vfio_pci_intrs.c): MSI-X vectors with their eventfd triggers, REQ and ERR.
  struct vfio_pci_irq_ctx {
    eventfd_ctx* trigger = nullptr;
    std::string name;  // the irq action's name, "vfio-msix[0](0000:01:00.0)"
  };
  int irq_type = -1;  // VFIO_PCI_MSI_IRQ_INDEX / _MSIX_IRQ_INDEX when enabled, else none
  std::vector<vfio_pci_irq_ctx> ctx;
  // INTx (vfio_pci_intrs.c): the trigger, the virtual mask, and whether the device masks in
  // hardware (PCI 2.3 INTx Disable, vdev->pci_2_3).
  eventfd_ctx* intx_trigger = nullptr;
  bool intx_masked = false;
  bool pci_2_3 = false;
  bool virq_disabled = false;  // the user's virtual INTx Disable (Command bit 10 in vconfig)
  std::shared_ptr<virqfd> intx_unmask_fd;  // ctx[0].unmask: the UNMASK eventfd
  unsigned msi_qmax = 0;       // log2 of the MSI vectors SET_IRQS allocated
  // Power states (vfio_pci_set_power_state): a device without No_Soft_Reset loses its config
  // state in D3hot, so it is saved on the way down and restored on the way up.
  bool needs_pm_restore = false;
  std::unique_ptr<pci_saved_state> pm_save;
  eventfd_ctx* req_trigger = nullptr;
  eventfd_ctx* err_trigger = nullptr;
  std::unique_ptr<VfioPciConfig> config;  // created at first open (vfio_config_init)
  // SR-IOV (vfio_pci_vf_init): a PF's VF token, its users (open VF devices), its bus notifier;
  // a VF's PF, when that PF created it through vfio-pci.
  struct vfio_pci_vf_token {
    std::array<uint8_t, 16> uuid{};
    unsigned users = 0;
  };
  std::unique_ptr<vfio_pci_vf_token> vf_token;
  int bus_notifier = 0;
  vfio_pci_core_device* sriov_pf_core_dev = nullptr;
  bool in_sriov_pfs = false;  // on vfio_pci_sriov_pfs: this PF's VFs were made by sriov_configure
};

class VfioPci {
 public:
  VfioPci(Vfio& vfio, PciCore& pci, PciDriverCore& drivers, HostPort& cpu, IrqCore& irqs, PciMsi& msi);
  /// pci_register_driver(&vfio_pci_driver).
  void register_driver();
  vfio_pci_core_device* find(const pci_dev& dev) const;
  /// SR-IOV: the kernel's pci_enable_sriov(), the enable_sriov module parameter, and the seed
  /// that uuid_gen() draws VF tokens from.
  void set_sriov(PciIov* iov, bool enable_sriov, uint64_t seed) {
    iov_ = iov;
    enable_sriov_ = enable_sriov;
    token_seed_ = seed;
  }
  const vfio_device_ops& ops() const { return ops_; }

 private:
  int probe(pci_dev& dev);
  void remove(pci_dev& dev);
  int open_device(vfio_pci_core_device& vdev);
  void close_device(vfio_pci_core_device& vdev);
  long ioctl(vfio_pci_core_device& vdev, unsigned cmd, uint64_t arg);
  long rw(vfio_pci_core_device& vdev, uint64_t ubuf, uint64_t count, uint64_t pos, bool write);
  int match(vfio_pci_core_device& vdev, const std::string& buf);
  int validate_vf_token(vfio_pci_core_device& vdev, bool vf_token, const std::array<uint8_t, 16>& uuid);
  int vf_init(vfio_pci_core_device& vdev);
  void vf_uninit(vfio_pci_core_device& vdev);
  int sriov_configure(vfio_pci_core_device& vdev, int nr_virtfn);
  int device_feature(vfio_pci_core_device& vdev, uint32_t flags, uint64_t arg, size_t argsz);
  int mmap(vfio_pci_core_device& vdev, vm_area& vma);
  // INTx (vfio_pci_intx.cpp)
  bool intx_mask_supported(pci_dev& dev);
  bool check_and_set_intx_mask(pci_dev& dev, bool mask);
  bool intx_handler(vfio_pci_core_device& vdev);
  void send_intx_eventfd(vfio_pci_core_device& vdev);
  void intx_mask(vfio_pci_core_device& vdev);
  int intx_unmask_handler(vfio_pci_core_device& vdev);
  int intx_enable(vfio_pci_core_device& vdev);
  int intx_set_signal(vfio_pci_core_device& vdev, int fd);
  void intx_disable(vfio_pci_core_device& vdev);
  int set_intx_irqs(vfio_pci_core_device& vdev, uint32_t action, uint32_t flags, uint32_t start, uint32_t count,
                    const uint8_t* data);
  /// __vfio_pci_memory_enabled(): the virtual Command.MEM (always for a VF, no_command_memory)
  /// while the device is in a state below D3hot.
  bool memory_enabled(const vfio_pci_core_device& vdev);
  /// vfio_pci_set_power_state() (vfio_pci_power.cpp): -EBUSY for a PF with VFs going below D0.
  int set_power_state(vfio_pci_core_device& vdev, int state);
  void intx_unmask(vfio_pci_core_device& vdev);  // vfio_pci_intx_unmask()
  void set_virq_disabled(vfio_pci_core_device& vdev, bool disabled);
  /// vfio_pci_probe_mmaps(): memory BARs that start on a page and span at least one.
  bool bar_mmap_supported(const pci_dev& dev, unsigned index) const;
  int reset(vfio_pci_core_device& vdev);
  pci_saved_state save_state(pci_dev& dev);
  void restore_state(pci_dev& dev, const pci_saved_state& s);
  /// The devices a secondary bus reset of `v`'s bus affects, or -ENODEV (root bus).
  int hot_reset_scope(vfio_pci_core_device& v, std::vector<pci_dev*>& out);
  long get_hot_reset_info(vfio_pci_core_device& v, uint64_t arg);
  long hot_reset(vfio_pci_core_device& v, uint64_t arg);
  long set_irqs(vfio_pci_core_device& vdev, uint64_t arg);
  int msi_enable(vfio_pci_core_device& v, unsigned nvec, bool msix);
  void msi_disable(vfio_pci_core_device& v);
  int msi_set_vector_signal(vfio_pci_core_device& v, unsigned vector, int fd);
  int msi_set_block(vfio_pci_core_device& v, unsigned start, unsigned count, const uint8_t* fds);
  int set_ctx_trigger_single(eventfd_ctx*& trigger, uint32_t count, uint32_t flags, const uint8_t* data);

  Vfio& vfio_;
  PciCore& pci_;
  pci_error_handlers err_handlers_;
  PciDriverCore& drivers_;
  HostPort& cpu_;
  IrqCore& irqs_;
  PciMsi& msi_;
  vfio_device_ops ops_;
  std::map<const pci_dev*, vfio_pci_core_device*> bound_;
  PciIov* iov_ = nullptr;
  bool enable_sriov_ = false;
  uint64_t token_seed_ = 0;
  uint64_t tokens_made_ = 0;
};

}  // namespace vfiosim::kernel
