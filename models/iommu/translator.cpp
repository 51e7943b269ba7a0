#include "models/iommu/translator.h"

#include <algorithm>

#include "models/iommu/vtd_defs.h"

namespace vfiosim::iommu {

using namespace vtd;

Translator::Translator(const VtdParams& params, const ClockDomain& clock, stats::Group& s, Rng rng, TableReader reader)
    : p_(params),
      clock_(clock),
      reader_(std::move(reader)),
      ctx_(params.context_cache, Rng::stream(rng.next(), "ctx")),
      iotlb_(params.iotlb, Rng::stream(rng.next(), "iotlb")),
      walker_free_(params.walkers, 0),
      iotlb_hit_(s.counter("iotlb_hit", "requests", "Translations that hit the IOTLB (pcm-iio IOTLB Hit)")),
      iotlb_miss_(s.counter("iotlb_miss", "requests", "Translations that missed the IOTLB (pcm-iio IOTLB Miss)")),
      ctxt_miss_(s.counter("ctxt_miss", "requests", "Context-cache misses (pcm-iio CTXT Miss)")),
      mem_read_(s.counter("mem_read", "reads", "Memory reads of translation structures (pcm-iio VT-d Mem Read)")),
      walks_(s.counter("walks", "walks", "Page walks started")),
      merged_(s.counter("walks_merged", "requests", "IOTLB misses that waited for a walk already in flight")),
      pass_through_(s.counter("pass_through", "requests", "Requests of pass-through contexts")),
      walks_in_flight_(s.histogram("walks_in_flight", "walks", "Walks in flight when a walk starts (itself included)")),
      walker_wait_(s.histogram("walker_wait", "ns", "Time a miss waited for a free walker", 1e-3)),
      walk_latency_(s.histogram("walk_latency", "ns", "From walker start to the translation being known", 1e-3)) {
  const char* names[4] = {"pwc_l1_miss", "pwc_l2_miss", "pwc_l3_miss", "pwc_l4_miss"};
  const char* descs[4] = {"PDE-cache misses of page walks (pcm-iio L1 Miss)",
                          "PDPTE-cache misses of page walks (pcm-iio L2 Miss)",
                          "PML4E-cache misses of page walks (pcm-iio L3 Miss)", "PML5E-cache misses of page walks"};
  for (int i = 0; i < 4; ++i) {
    pwc_.emplace_back(params.pwc[i], Rng::stream(rng.next(), names[i]));
    pwc_miss_[i] = &s.counter(names[i], "walks", descs[i]);
  }
}

uint64_t Translator::tlb_key(uint16_t did, uint64_t iova, unsigned level) {
  return (static_cast<uint64_t>(did) << 47) | ((iova >> level_shift(level)) << 2) | level;
}

bool Translator::read_table(uint64_t addr, void* dst, unsigned len, uint64_t& c) {
  ++mem_read_;
  uint64_t done = 0;
  const bool ok = reader_(addr, dst, len, ps(c + p_.fabric_cycles), done);
  c = cyc(done) + p_.fabric_cycles;
  return ok;
}

// The context entry for `rid`: context cache, else root entry then context entry from memory.
bool Translator::context(uint16_t rid, uint64_t& c, ContextValue& out, uint8_t& reason) {
  if (auto* e = ctx_.lookup(rid, rid)) {
    c = std::max(c, cyc(e->ready_ps));
    out = e->value;
    return true;
  }
  ++ctxt_miss_;
  uint64_t root[2] = {0, 0};
  if (!read_table(rta_ + (rid >> 8) * 16ULL, root, 16, c)) return reason = kRootTableAccess, false;
  if (!(root[0] & ROOT_P)) return reason = kRootNotPresent, false;
  if (root[1] || (root[0] & 0xFFEULL)) return reason = kRootReserved, false;
  uint64_t ce[2] = {0, 0};
  if (!read_table((root[0] & kAddrMask) + (rid & 0xFF) * 16ULL, ce, 16, c)) return reason = kContextTableAccess, false;
  if (!(ce[0] & CTX_P)) return reason = kContextNotPresent, false;
  ContextValue v;
  v.fpd = ce[0] & CTX_FPD;
  v.tt = ctx_tt(ce[0]);
  v.aw = ctx_aw(ce[1]);
  v.did = ctx_did(ce[1]);
  v.slptptr = ce[0] & kAddrMask;
  const bool tt_ok = v.tt == CTX_TT_MULTI_LEVEL || (v.tt == CTX_TT_PASS_THROUGH && p_.pass_through);
  bool aw_ok = false;
  for (unsigned l : p_.levels) aw_ok |= aw_levels(v.aw) == l;
  if (!tt_ok || (v.tt != CTX_TT_PASS_THROUGH && !aw_ok)) return reason = kContextInvalid, false;
  if ((ce[1] >> 24) || (ce[1] & 0xF8)) return reason = kContextReserved, false;
  ctx_.insert(rid, rid, v.did, v, ps(c));
  out = v;
  return true;
}

TranslateResult Translator::finish(const TlbValue& v, uint64_t iova, bool write, uint64_t c, bool fpd) {
  TranslateResult r;
  r.done_ps = ps(c);
  r.record = !fpd;
  if (write ? !v.write : !v.read) {
    r.reason = write ? kWriteDenied : kReadDenied;
    return r;
  }
  r.ok = true;
  r.addr = v.frame | (iova & ((1ULL << level_shift(v.level)) - 1));
  return r;
}

TranslateResult Translator::translate(uint16_t rid, uint64_t iova, bool write, uint64_t t_ps, bool translated) {
  uint64_t c = cyc(t_ps) + p_.lookup_cycles;
  ContextValue ctx;
  uint8_t reason = 0;
  if (!context(rid, c, ctx, reason)) {
    TranslateResult r;
    r.reason = reason;
    r.done_ps = ps(c);
    return r;
  }
  if (translated) {  // AT = 10b: allowed only with Device-TLBs enabled (TT = 01b), which no context has here
    TranslateResult r;
    r.reason = kTranslationBlocked;
    r.record = !ctx.fpd;
    r.done_ps = ps(c);
    return r;
  }
  if (ctx.tt == CTX_TT_PASS_THROUGH) {
    ++pass_through_;
    TranslateResult r;
    r.ok = true;
    r.addr = iova;
    r.done_ps = ps(c);
    return r;
  }
  if (aw_bits(ctx.aw) < 64 && (iova >> aw_bits(ctx.aw))) {
    TranslateResult r;
    r.reason = kAddressBeyondAw;
    r.record = !ctx.fpd;
    r.done_ps = ps(c);
    return r;
  }
  for (unsigned level = 1; level <= 3; ++level) {
    if (level == 2 && !p_.superpage_2m) continue;
    if (level == 3 && !p_.superpage_1g) continue;
    const uint64_t key = tlb_key(ctx.did, iova, level);
    if (auto* e = iotlb_.lookup(key, iova >> level_shift(level))) {
      const uint64_t ready = cyc(e->ready_ps);
      if (ready > c) {  // its walk is still in flight: wait for it
        ++iotlb_miss_;
        ++merged_;
        c = ready;
      } else {
        ++iotlb_hit_;
      }
      return finish(e->value, iova, write, c, ctx.fpd);
    }
  }
  ++iotlb_miss_;
  return walk(ctx, iova, write, c);
}

TranslateResult Translator::walk(const ContextValue& ctx, uint64_t iova, bool write, uint64_t c) {
  ++walks_;
  c += p_.walk_setup_cycles;
  auto slot = std::min_element(walker_free_.begin(), walker_free_.end());
  const uint64_t start = std::max(c, *slot);
  walker_wait_.sample(ps(start) - ps(c));
  c = start;
  while (!walks_active_.empty() && *walks_active_.begin() <= start) walks_active_.erase(walks_active_.begin());

  const unsigned levels = aw_levels(ctx.aw);
  // Deepest cached non-leaf entry: the PDE cache first, then upwards.
  unsigned level = levels;  // level of the table to read next
  uint64_t table = ctx.slptptr;
  bool rd = true, wr = true;
  c += p_.pwc_cycles;
  for (unsigned i = 0; i + 2 <= levels && i < 4; ++i) {
    const unsigned entry_level = i + 2;
    auto& cache = pwc_[i];
    const uint64_t key = (static_cast<uint64_t>(ctx.did) << 47) | (iova >> level_shift(entry_level));
    if (auto* e = cache.lookup(key, iova >> level_shift(entry_level))) {
      c = std::max(c, cyc(e->ready_ps));
      level = entry_level - 1;
      table = e->value.table;
      rd = e->value.read;
      wr = e->value.write;
      break;
    }
    ++*pwc_miss_[i];
  }

  TranslateResult r;
  r.walked = true;
  r.walk_start_ps = ps(start);
  r.record = !ctx.fpd;
  auto fail = [&](uint8_t why) {
    r.reason = why;
    r.done_ps = ps(c);
    *slot = c;
    walks_active_.insert(c);
    walks_in_flight_.sample(walks_active_.size());
    walk_latency_.sample(ps(c) - ps(start));
    return r;
  };
  for (;; --level) {
    uint64_t pte = 0;
    if (!read_table(table + level_index(iova, level) * 8ULL, &pte, 8, c)) return fail(kPagingEntryAccess);
    c += p_.walk_step_cycles;
    if (!(pte & (SL_R | SL_W))) return fail(write ? kWriteDenied : kReadDenied);
    const bool ps_bit = level > 1 && (pte & SL_PS);
    const bool ps_ok = (level == 2 && p_.superpage_2m) || (level == 3 && p_.superpage_1g);
    if (pte & kSlReserved) return fail(kPagingEntryReserved);
    if (ps_bit && !ps_ok) return fail(kPagingEntryReserved);
    rd = rd && (pte & SL_R);
    wr = wr && (pte & SL_W);
    if (level == 1 || ps_bit) {
      TlbValue v;
      v.level = level;
      v.frame = pte & kAddrMask & ~((1ULL << level_shift(level)) - 1);
      v.read = rd;
      v.write = wr;
      iotlb_.insert(tlb_key(ctx.did, iova, level), iova >> level_shift(level), ctx.did, v, ps(c));
      *slot = c;
      walks_active_.insert(c);
      walks_in_flight_.sample(walks_active_.size());
      walk_latency_.sample(ps(c) - ps(start));
      TranslateResult out = finish(v, iova, write, c, ctx.fpd);
      out.walked = true;
      out.walk_start_ps = ps(start);
      return out;
    }
    table = pte & kAddrMask;
    if (level - 2 < 4) {
      const unsigned i = level - 2;
      const uint64_t key = (static_cast<uint64_t>(ctx.did) << 47) | (iova >> level_shift(level));
      pwc_[i].insert(key, iova >> level_shift(level), ctx.did, PwcValue{table, rd, wr}, ps(c));
    }
  }
}

size_t Translator::invalidate_context_all() { return ctx_.invalidate_all(); }

size_t Translator::invalidate_context_domain(uint16_t did) {
  return ctx_.invalidate_if([did](const auto& e) { return e.did == did; });
}

size_t Translator::invalidate_context_device(uint16_t did, uint16_t sid, unsigned fm) {
  // FM masks low bits of the function number: 0 none, 1 bit 2, 2 bits 2:1, 3 bits 2:0.
  const uint16_t mask = static_cast<uint16_t>(~((fm ? (1u << fm) - 1 : 0u) << (3 - fm)) & 0xFFFF);
  return ctx_.invalidate_if([&](const auto& e) { return e.did == did && (e.key & mask) == (sid & mask); });
}

size_t Translator::invalidate_iotlb_all() {
  size_t n = iotlb_.invalidate_all();
  for (auto& p : pwc_) n += p.invalidate_all();
  return n;
}

size_t Translator::invalidate_iotlb_domain(uint16_t did) {
  auto same = [did](const auto& e) { return e.did == did; };
  size_t n = iotlb_.invalidate_if(same);
  for (auto& p : pwc_) n += p.invalidate_if(same);
  return n;
}

size_t Translator::invalidate_iotlb_pages(uint16_t did, uint64_t addr, unsigned am, bool ih) {
  const uint64_t size = 4096ULL << am;
  const uint64_t lo = addr & ~(size - 1);
  const uint64_t hi = lo + size;  // exclusive
  size_t n = iotlb_.invalidate_if([&](const auto& e) {
    if (e.did != did) return false;
    const unsigned level = static_cast<unsigned>(e.key & 3);
    const uint64_t base = ((e.key >> 2) & ((1ULL << 45) - 1)) << level_shift(level);
    return base < hi && lo < base + (1ULL << level_shift(level));
  });
  if (!ih) {
    // Paging-structure entries covering the range go too (VT-d 6.5.1.2: IH=0).
    for (unsigned i = 0; i < pwc_.size(); ++i) {
      const unsigned shift = level_shift(i + 2);
      n += pwc_[i].invalidate_if([&](const auto& e) {
        if (e.did != did) return false;
        const uint64_t base = (e.key & ((1ULL << 47) - 1)) << shift;
        return base < hi && lo < base + (1ULL << shift);
      });
    }
  }
  return n;
}

}  // namespace vfiosim::iommu
