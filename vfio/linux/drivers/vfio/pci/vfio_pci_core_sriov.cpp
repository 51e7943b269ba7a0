// vfio-pci and SR-IOV (drivers/vfio/pci/vfio_pci_core.c, v6.1): the PF's VF token, the bus
// notifier that captures its VFs for vfio-pci, sriov_configure, the VF-token rules the device
// name match applies, and VFIO_DEVICE_FEATURE_PCI_VF_TOKEN.
#include <linux/vfio.h>

#include <cerrno>

#include "vfio/linux/lib/uuid.h"
#include "vfio/linux/drivers/vfio/pci/vfio_pci_core.h"

namespace vfiosim::kernel {

namespace {
// uuid_gen(): a random (version 4) UUID, from the run's seed so runs repeat.
std::array<uint8_t, 16> uuid_gen(uint64_t seed, uint64_t n) {
  std::array<uint8_t, 16> u{};
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + n + 1;
  for (size_t i = 0; i < 16; ++i) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    u[i] = static_cast<uint8_t>(x >> 24);
  }
  u[6] = static_cast<uint8_t>((u[6] & 0x0F) | 0x40);
  u[8] = static_cast<uint8_t>((u[8] & 0x3F) | 0x80);
  return u;
}
}  // namespace

// vfio_pci_vf_init(): a VF remembers the vfio-pci PF that created it; a PF gets a VF token and
// a bus notifier that captures its VFs for vfio-pci.
int VfioPci::vf_init(vfio_pci_core_device& v) {
  pci_dev& dev = *v.pdev;
  if (dev.is_virtfn) {
    for (const auto& [pdev, cur] : bound_)
      if (pdev == dev.physfn && cur->in_sriov_pfs) v.sriov_pf_core_dev = cur;
    return 0;
  }
  if (!dev.is_physfn) return 0;
  v.vf_token = std::make_unique<vfio_pci_core_device::vfio_pci_vf_token>();
  v.vf_token->uuid = uuid_gen(token_seed_, tokens_made_++);
  // vfio_pci_bus_notifier()
  v.bus_notifier = drivers_.bus_register_notifier([this, &v](unsigned long action, pci_dev& d) {
    if (!d.is_virtfn || d.physfn != v.pdev) return;
    if (action == BUS_NOTIFY_ADD_DEVICE) {
      kernel_warn("pci_info", v.pdev->name() + ": Captured SR-IOV VF " + d.name() + " driver_override");
      drivers_.set_driver_override(d, ops_.name);
    } else if (action == BUS_NOTIFY_BOUND_DRIVER) {
      const pci_driver* drv = drivers_.driver_of(d);
      if (drv && drv != drivers_.driver_of(*v.pdev))
        kernel_warn("pci_warn", v.pdev->name() + ": VF " + d.name() + " bound to driver " + drv->name +
                                    " while PF bound to driver vfio-pci");
    }
  });
  return 0;
}

// vfio_pci_vf_uninit()
void VfioPci::vf_uninit(vfio_pci_core_device& v) {
  if (!v.vf_token) return;
  drivers_.bus_unregister_notifier(v.bus_notifier);
  if (v.vf_token->users) kernel_warn("WARN_ON", v.pdev->name() + ": VF token still has users");
  v.vf_token.reset();
}

// vfio_pci_core_sriov_configure()
int VfioPci::sriov_configure(vfio_pci_core_device& v, int nr_virtfn) {
  pci_dev& dev = *v.pdev;
  if (nr_virtfn) {
    // Only the thread that put the PF on vfio_pci_sriov_pfs may enable VFs, once.
    if (v.in_sriov_pfs) return -EINVAL;
    v.in_sriov_pfs = true;
    const int ret = iov_ ? iov_->pci_enable_sriov(dev, nr_virtfn) : -ENODEV;
    if (ret) {
      v.in_sriov_pfs = false;
      return ret;
    }
    return nr_virtfn;
  }
  if (iov_ && pci_num_vf(dev)) iov_->pci_disable_sriov(dev);
  v.in_sriov_pfs = false;
  return 0;
}

// vfio_pci_validate_vf_token(): a VF of a vfio-pci PF needs the PF's token; a PF whose VFs are in
// use needs it too, and a PF without VF users takes the token given as the new one.
int VfioPci::validate_vf_token(vfio_pci_core_device& v, bool vf_token, const std::array<uint8_t, 16>& uuid) {
  const std::string name = v.pdev->name();
  if (v.pdev->is_virtfn) {
    vfio_pci_core_device* pf = v.sriov_pf_core_dev;
    if (!pf) {
      if (!vf_token) return 0;  // PF is not vfio-pci: no VF token
      kernel_warn("pci_info_ratelimited", name + ": VF token incorrectly provided, PF not bound to vfio-pci");
      return -EINVAL;
    }
    if (!vf_token) {
      kernel_warn("pci_info_ratelimited", name + ": VF token required to access device");
      return -EACCES;
    }
    if (uuid != pf->vf_token->uuid) {
      kernel_warn("pci_info_ratelimited", name + ": Incorrect VF token provided for device");
      return -EACCES;
    }
  } else if (v.vf_token) {
    if (v.vf_token->users) {
      if (!vf_token) {
        kernel_warn("pci_info_ratelimited", name + ": VF token required to access device");
        return -EACCES;
      }
      if (uuid != v.vf_token->uuid) {
        kernel_warn("pci_info_ratelimited", name + ": Incorrect VF token provided for device");
        return -EACCES;
      }
    } else if (vf_token) {
      v.vf_token->uuid = uuid;
    }
  } else if (vf_token) {
    kernel_warn("pci_info_ratelimited", name + ": VF token incorrectly provided, not a PF or VF");
    return -EINVAL;
  }
  return 0;
}

// vfio_pci_core_match(): "<BDF>", optionally followed by spaces and one "vf_token=<uuid>".
int VfioPci::match(vfio_pci_core_device& v, const std::string& buf) {
  const std::string name = v.pdev->name();
  if (buf.compare(0, name.size(), name) != 0) return 0;
  bool vf_token = false;
  std::array<uint8_t, 16> uuid{};
  if (buf.size() > name.size()) {
    size_t i = name.size();
    if (buf[i] != ' ') return 0;  // non-whitespace after the name: not this device
    while (i < buf.size()) {
      if (buf[i] == ' ') {
        ++i;
        continue;
      }
      if (!vf_token && buf.compare(i, 9, "vf_token=") == 0) {
        i += 9;
        if (int ret = uuid_parse(buf.substr(i), uuid)) return ret;
        vf_token = true;
        i += UUID_STRING_LEN;
      } else {
        return -EINVAL;  // unknown or duplicate option
      }
    }
  }
  if (int ret = validate_vf_token(v, vf_token, uuid)) return ret;
  return 1;
}

// vfio_pci_core_ioctl_feature() -> vfio_pci_core_feature_token(): SET only (a GET would expose a
// previous user's token).
int VfioPci::device_feature(vfio_pci_core_device& v, uint32_t flags, uint64_t arg, size_t argsz) {
  switch (flags & VFIO_DEVICE_FEATURE_MASK) {
    case VFIO_DEVICE_FEATURE_PCI_VF_TOKEN: {
      if (!v.vf_token) return -ENOTTY;
      const int ret = Vfio::vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET, 16);
      if (ret != 1) return ret;
      std::array<uint8_t, 16> uuid{};
      if (current()->copy_from_user(uuid.data(), arg, 16)) return -EFAULT;
      v.vf_token->uuid = uuid;
      return 0;
    }
    default:
      return -ENOTTY;
  }
}

}  // namespace vfiosim::kernel
