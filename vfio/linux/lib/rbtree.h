// Red-black trees as lib/rbtree.c has them: an intrusive rb_node embedded in the owner, a rb_root,
// rb_link_node()/rb_insert_color() after the caller's own descent, rb_erase(), and in-order
// rb_first()/rb_last()/rb_next()/rb_prev(). The rebalancing follows the kernel's cases one for one
// (insert: uncle red → colour flip, else rotate at parent then at grandparent; erase: splice the
// successor from the right subtree, then the four sibling cases), so a sequence of inserts and
// erases gives the tree the kernel would build. That matters where a lookup's predicate is not a
// consistent order — type1's 6.1 helpers at the 2^64 end (C-143) — and the answer depends on
// which node the descent meets first. Each case is written out with its mirror, as in the kernel.
// Not ported: augmented and cached (leftmost) trees, RCU.
#pragma once

namespace vfiosim::kernel {

struct rb_node {
  rb_node* parent = nullptr;
  rb_node* left = nullptr;
  rb_node* right = nullptr;
  bool red = true;  // rb_link_node() links a new node red
};

struct rb_root {
  struct rb_node* rb_node = nullptr;
  bool empty() const { return rb_node == nullptr; }  // RB_EMPTY_ROOT()
};

/// rb_link_node(): hang `node` at `*link` below `parent` (the slot the caller's descent found).
inline void rb_link_node(rb_node* node, rb_node* parent, rb_node** link) {
  node->parent = parent;
  node->left = node->right = nullptr;
  node->red = true;
  *link = node;
}

void rb_insert_color(rb_node* node, rb_root* root);  // rb_insert_color()
void rb_erase(rb_node* node, rb_root* root);         // rb_erase()
rb_node* rb_first(const rb_root* root);              // rb_first(): leftmost
rb_node* rb_last(const rb_root* root);               // rb_last(): rightmost
rb_node* rb_next(const rb_node* node);               // rb_next(): in-order successor
rb_node* rb_prev(const rb_node* node);               // rb_prev(): in-order predecessor

/// rb_entry(): the owner of `n`, for an owner that derives from rb_node (a downcast rather than
/// container_of's pointer arithmetic, which C++ only allows on standard-layout types).
template <typename T>
T* rb_entry(rb_node* n) {
  return n ? static_cast<T*>(n) : nullptr;
}

}  // namespace vfiosim::kernel
