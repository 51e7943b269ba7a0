// lib/rbtree.c port: random inserts and erases keep a valid red-black tree (ordered, no red node
// with a red child, equal black height on every path, consistent parent links) whose in-order
// walk matches a reference multiset; duplicates go where the caller's descent puts them.
#include "vfio/linux/lib/rbtree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <vector>

namespace vfiosim::kernel {
namespace {

struct item : rb_node {
  uint64_t key = 0;
  int serial = 0;
};

// A descent that sends an equal key left, as vfio_link_dma() does.
void insert(rb_root& root, item* it) {
  rb_node** link = &root.rb_node;
  rb_node* parent = nullptr;
  while (*link) {
    parent = *link;
    link = it->key <= rb_entry<item>(parent)->key ? &parent->left : &parent->right;
  }
  rb_link_node(it, parent, link);
  rb_insert_color(it, &root);
}

// Returns the black height, failing the test on any broken invariant.
int check(const rb_node* n, const rb_node* parent) {
  if (!n) return 1;
  EXPECT_EQ(n->parent, parent);
  if (n->red) {
    EXPECT_FALSE(n->left && n->left->red);
    EXPECT_FALSE(n->right && n->right->red);
  }
  const int l = check(n->left, n), r = check(n->right, n);
  EXPECT_EQ(l, r);
  return l + (n->red ? 0 : 1);
}

TEST(RbTree, RandomInsertEraseKeepsTheInvariants) {
  std::mt19937_64 rng(7);
  rb_root root;
  std::vector<std::unique_ptr<item>> live;
  std::multiset<uint64_t> ref;
  int serial = 0;
  for (int step = 0; step < 4000; ++step) {
    if (live.empty() || rng() % 3) {
      auto it = std::make_unique<item>();
      it->key = rng() % 300;  // plenty of duplicates
      it->serial = serial++;
      insert(root, it.get());
      ref.insert(it->key);
      live.push_back(std::move(it));
    } else {
      const size_t i = rng() % live.size();
      rb_erase(live[i].get(), &root);
      ref.erase(ref.find(live[i]->key));
      live.erase(live.begin() + static_cast<long>(i));
    }
    if (step % 97 == 0 || step > 3900) {
      ASSERT_FALSE(root.rb_node && root.rb_node->red) << "the root is black";
      check(root.rb_node, nullptr);
      std::vector<uint64_t> walk, back;
      for (rb_node* n = rb_first(&root); n; n = rb_next(n)) walk.push_back(rb_entry<item>(n)->key);
      for (rb_node* n = rb_last(&root); n; n = rb_prev(n)) back.push_back(rb_entry<item>(n)->key);
      ASSERT_EQ(walk, std::vector<uint64_t>(ref.begin(), ref.end()));
      std::reverse(back.begin(), back.end());
      ASSERT_EQ(back, walk);
    }
  }
}

TEST(RbTree, AnEqualKeyLinkedLeftComesFirstInOrder) {
  rb_root root;
  item a, b, c;
  a.key = b.key = 5;
  c.key = 1;
  a.serial = 1;
  b.serial = 2;
  insert(root, &a);
  insert(root, &b);
  insert(root, &c);
  std::vector<int> order;
  for (rb_node* n = rb_first(&root); n; n = rb_next(n)) order.push_back(rb_entry<item>(n)->serial);
  EXPECT_EQ(order, (std::vector<int>{0, 2, 1}));
  // Three ascending inserts rotate: the middle key becomes the root.
  rb_root r2;
  item x, y, z;
  x.key = 1;
  y.key = 2;
  z.key = 3;
  insert(r2, &z);
  insert(r2, &y);
  insert(r2, &x);
  EXPECT_EQ(r2.rb_node, &y);
  rb_erase(&y, &r2);
  EXPECT_EQ(r2.rb_node, &z) << "the successor takes the erased root's place";
  EXPECT_EQ(z.left, &x);
}

}  // namespace
}  // namespace vfiosim::kernel
