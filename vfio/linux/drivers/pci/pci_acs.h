// ACS and DMA-alias helpers of the PCI core: pci_enable_acs (drivers/pci/pci.c), pci_acs_enabled,
// pci_acs_path_enabled, pci_for_each_dma_alias and pci_devs_are_dma_aliases (drivers/pci/search.c),
// and the DMA-alias quirks of drivers/pci/quirks.c that the models need. Reads go to config space.
#pragma once

#include <functional>

#include "vfio/linux/drivers/pci/probe.h"

namespace vfiosim::kernel {

/// PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF, what IOMMU grouping asks for.
constexpr uint16_t REQ_ACS_FLAGS = 0x1D;

/// pci_enable_acs(): enables SV, RR, CR and UF where the capability offers them (at enumeration,
/// because an IOMMU is present: pci_request_acs()).
void pci_enable_acs(PciCore& pci, pci_dev& dev);
bool pci_acs_enabled(PciCore& pci, pci_dev& dev, uint16_t acs_flags);
bool pci_acs_path_enabled(PciCore& pci, pci_dev& start, pci_dev* end, uint16_t acs_flags);

/// pci_fixup_header quirks: DMA aliases for devices known to use another requester ID.
void pci_apply_dma_alias_quirks(pci_dev& dev);

/// pci_for_each_dma_alias(): fn(pdev, alias RID) for each RID the IOMMU may see for `dev`;
/// stops when fn returns non-zero and returns that value.
int pci_for_each_dma_alias(pci_dev& dev, const std::function<int(pci_dev&, uint16_t)>& fn);
bool pci_devs_are_dma_aliases(const pci_dev& a, const pci_dev& b);

}  // namespace vfiosim::kernel
