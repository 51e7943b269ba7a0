// IOMMU groups in sysfs (drivers/iommu/iommu.c, v6.1): iommu_group_alloc() gives each group a
// kobject in the iommu_groups kset (/sys/kernel/iommu_groups/<id>) with a devices/ directory and
// the reserved_regions and type attributes; iommu_group_add_device() links the device to its group ("iommu_group") and the
// group to the device (devices/<name>); iommu_group_remove_device() takes both links away; the
// group's release takes its directory.
// Not modelled: the type store (changing the default domain), the name attribute, and the
// "<name>.<n>" retry for a device name taken in devices/.
#include <cstdio>

#include "vfio/linux/lib/errname.h"
#include "vfio/linux/drivers/iommu/iommu.h"

namespace vfiosim::kernel {

namespace {

iommu_group* to_iommu_group(kobject* kobj) { return container_of(kobj, &iommu_group::kobj); }

// iommu_group_show_type(): the default domain's type, "unknown" without one.
const attribute iommu_group_attr_type{"type", S_IRUGO,
                                      [](kobject* k, std::string& buf) {
                                        const iommu_domain* d = to_iommu_group(k)->default_domain;
                                        buf = "unknown\n";
                                        if (d) {
                                          switch (d->type) {
                                            case IOMMU_DOMAIN_BLOCKED: buf = "blocked\n"; break;
                                            case IOMMU_DOMAIN_IDENTITY: buf = "identity\n"; break;
                                            case IOMMU_DOMAIN_UNMANAGED: buf = "unmanaged\n"; break;
                                            case IOMMU_DOMAIN_DMA: buf = "DMA\n"; break;
                                            case IOMMU_DOMAIN_DMA_FQ: buf = "DMA-FQ\n"; break;
                                            default: break;
                                          }
                                        }
                                        return static_cast<long>(buf.size());
                                      },
                                      nullptr};

// iommu_group_resv_type_string[]
const char* resv_type_string(iommu_resv_type type) {
  switch (type) {
    case IOMMU_RESV_DIRECT: return "direct";
    case IOMMU_RESV_DIRECT_RELAXABLE: return "direct-relaxable";
    case IOMMU_RESV_RESERVED: return "reserved";
    case IOMMU_RESV_MSI:
    case IOMMU_RESV_SW_MSI: return "msi";
  }
  return "reserved";
}

// iommu_group_show_resv_regions(): "start end type" a region (iommu_get_group_resv_regions()),
// nothing without an IOMMU driver.
const attribute iommu_group_attr_reserved_regions{
    "reserved_regions", S_IRUGO,
    [](kobject* k, std::string& buf) {
      iommu_group* group = to_iommu_group(k);
      buf.clear();
      if (!group->groups || !group->groups->core) return 0L;
      for (const iommu_resv_region& r : group->groups->core->iommu_get_group_resv_regions(group)) {
        char line[80];
        std::snprintf(line, sizeof line, "0x%016llx 0x%016llx %s\n", static_cast<unsigned long long>(r.start),
                      static_cast<unsigned long long>(r.start + r.length - 1), resv_type_string(r.type));
        buf += line;
      }
      return static_cast<long>(buf.size());
    },
    nullptr};

}  // namespace

// iommu_group_alloc()'s sysfs part: kobject_init_and_add() in iommu_group_kset, then
// kobject_create_and_add("devices"), then the type file. Deliberate difference: the groups of a
// second simulated kernel in the same process (whose PCI bus stayed out of sysfs, see
// bus_register) stay out too, instead of colliding with the first kernel's ids.
int IommuGroups::iommu_group_sysfs_add(iommu_group* group) {
  if (!pci_.pci_bus_type.subsys.sd) return 0;
  group->kobj = kobject{std::to_string(group->id), sysfs_kset("kernel/iommu_groups"), nullptr};
  if (int ret = sysfs_create_dir(&group->kobj)) return ret;
  group->devices_kobj = kobject{"devices", &group->kobj, nullptr};
  int ret = sysfs_create_dir(&group->devices_kobj);
  // iommu_group_create_file(): reserved_regions, then type.
  if (!ret) ret = sysfs_create_file(&group->kobj, &iommu_group_attr_reserved_regions);
  if (!ret) ret = sysfs_create_file(&group->kobj, &iommu_group_attr_type);
  if (ret) iommu_group_sysfs_release(group);
  return ret;
}

// iommu_group_release(): kobject_put() of devices_kobj, then the group's own directory.
void IommuGroups::iommu_group_sysfs_release(iommu_group* group) {
  group->devices_kobj.sd.reset();  // it goes with the group's directory
  sysfs_remove_dir(&group->kobj);
}

// iommu_group_add_device(): the device's "iommu_group" link, then devices/<name>; a failure of
// the second takes the first back. A device or group out of sysfs gets no links (no error).
int IommuGroups::iommu_group_sysfs_add_device(iommu_group* group, device* dev) {
  if (!dev->sysfs.sd || !group->kobj.sd) return 0;
  int ret = sysfs_create_link(&dev->sysfs, &group->kobj, "iommu_group");
  if (ret) return ret;
  ret = iommu_group_sysfs_link_member(group, dev);
  if (ret) sysfs_remove_link(&dev->sysfs, "iommu_group");
  return ret;
}

// iommu_group_add_device(): sysfs_create_link_nowarn(group->devices_kobj, &dev->kobj, name).
int IommuGroups::iommu_group_sysfs_link_member(iommu_group* group, device* dev) {
  if (!dev->sysfs.sd || !group->devices_kobj.sd) return 0;
  return sysfs_create_link_nowarn(&group->devices_kobj, &dev->sysfs, dev_name(dev));
}

// iommu_group_remove_device(): sysfs_remove_link(group->devices_kobj, name).
void IommuGroups::iommu_group_sysfs_unlink_member(iommu_group* group, device* dev) {
  if (group->devices_kobj.sd) sysfs_remove_link(&group->devices_kobj, dev_name(dev));
}

// iommu_group_remove_device(): devices/<name>, then the device's "iommu_group".
void IommuGroups::iommu_group_sysfs_remove_device(iommu_group* group, device* dev) {
  iommu_group_sysfs_unlink_member(group, dev);
  if (dev->sysfs.sd) sysfs_remove_link(&dev->sysfs, "iommu_group");
}

}  // namespace vfiosim::kernel
