#include "vfio/linux/lib/rbtree.h"

namespace vfiosim::kernel {

namespace {

bool is_red(const rb_node* n) { return n && n->red; }

// __rb_change_child(): `parent`'s link to `old` (or the root's) now points at `node`.
void change_child(rb_node* old, rb_node* node, rb_node* parent, rb_root* root) {
  if (!parent)
    root->rb_node = node;
  else if (parent->left == old)
    parent->left = node;
  else
    parent->right = node;
}

// __rb_rotate_set_parents(): `node` takes `old`'s place and colour; `old` hangs below it with
// colour `red`.
void rotate_set_parents(rb_node* old, rb_node* node, rb_root* root, bool red) {
  rb_node* parent = old->parent;
  node->parent = parent;
  node->red = old->red;
  old->parent = node;
  old->red = red;
  change_child(old, node, parent, root);
}

// ____rb_erase_color(): a black node was removed from below `parent`; restore the black height.
void erase_color(rb_node* parent, rb_root* root) {
  rb_node* node = nullptr;
  for (;;) {
    rb_node* sibling = parent->right;
    if (node != sibling) {  // node is the left child
      if (is_red(sibling)) {  // case 1: left rotate at parent
        rb_node* t1 = sibling->left;
        parent->right = t1;
        sibling->left = parent;
        t1->parent = parent;
        t1->red = false;
        rotate_set_parents(parent, sibling, root, true);
        sibling = t1;
      }
      rb_node* t1 = sibling->right;
      if (!is_red(t1)) {
        rb_node* t2 = sibling->left;
        if (!is_red(t2)) {  // case 2: sibling colour flip
          sibling->red = true;
          if (parent->red) {
            parent->red = false;
          } else {
            node = parent;
            parent = node->parent;
            if (parent) continue;
          }
          break;
        }
        // case 3: right rotate at sibling
        t1 = t2->right;
        sibling->left = t1;
        t2->right = sibling;
        parent->right = t2;
        if (t1) {
          t1->parent = sibling;
          t1->red = false;
        }
        sibling->parent = t2;
        t1 = sibling;
        sibling = t2;
      }
      // case 4: left rotate at parent and colour flips
      rb_node* t2 = sibling->left;
      parent->right = t2;
      sibling->left = parent;
      t1->parent = sibling;
      t1->red = false;
      if (t2) t2->parent = parent;
      rotate_set_parents(parent, sibling, root, false);
      break;
    } else {  // mirror: node is the right child
      sibling = parent->left;
      if (is_red(sibling)) {
        rb_node* t1 = sibling->right;
        parent->left = t1;
        sibling->right = parent;
        t1->parent = parent;
        t1->red = false;
        rotate_set_parents(parent, sibling, root, true);
        sibling = t1;
      }
      rb_node* t1 = sibling->left;
      if (!is_red(t1)) {
        rb_node* t2 = sibling->right;
        if (!is_red(t2)) {
          sibling->red = true;
          if (parent->red) {
            parent->red = false;
          } else {
            node = parent;
            parent = node->parent;
            if (parent) continue;
          }
          break;
        }
        t1 = t2->left;
        sibling->right = t1;
        t2->left = sibling;
        parent->left = t2;
        if (t1) {
          t1->parent = sibling;
          t1->red = false;
        }
        sibling->parent = t2;
        t1 = sibling;
        sibling = t2;
      }
      rb_node* t2 = sibling->right;
      parent->left = t2;
      sibling->right = parent;
      t1->parent = sibling;
      t1->red = false;
      if (t2) t2->parent = parent;
      rotate_set_parents(parent, sibling, root, false);
      break;
    }
  }
}

}  // namespace

// __rb_insert()
void rb_insert_color(rb_node* node, rb_root* root) {
  rb_node* parent = node->parent;
  for (;;) {
    if (!parent) {  // the root is black
      node->red = false;
      break;
    }
    if (!parent->red) break;
    rb_node* gparent = parent->parent;  // a red parent is never the root
    rb_node* tmp = gparent->right;
    if (parent != tmp) {  // parent is the left child
      if (is_red(tmp)) {  // case 1: uncle red, colour flips and go up
        tmp->red = false;
        parent->red = false;
        node = gparent;
        parent = node->parent;
        node->red = true;
        continue;
      }
      tmp = parent->right;
      if (node == tmp) {  // case 2: node is the right child, left rotate at parent
        tmp = node->left;
        parent->right = tmp;
        node->left = parent;
        if (tmp) {
          tmp->parent = parent;
          tmp->red = false;
        }
        parent->parent = node;
        parent->red = true;
        parent = node;
        tmp = node->right;
      }
      // case 3: right rotate at gparent
      gparent->left = tmp;
      parent->right = gparent;
      if (tmp) {
        tmp->parent = gparent;
        tmp->red = false;
      }
      rotate_set_parents(gparent, parent, root, true);
      break;
    } else {  // mirror: parent is the right child
      tmp = gparent->left;
      if (is_red(tmp)) {
        tmp->red = false;
        parent->red = false;
        node = gparent;
        parent = node->parent;
        node->red = true;
        continue;
      }
      tmp = parent->left;
      if (node == tmp) {
        tmp = node->right;
        parent->left = tmp;
        node->right = parent;
        if (tmp) {
          tmp->parent = parent;
          tmp->red = false;
        }
        parent->parent = node;
        parent->red = true;
        parent = node;
        tmp = node->left;
      }
      gparent->right = tmp;
      parent->left = gparent;
      if (tmp) {
        tmp->parent = gparent;
        tmp->red = false;
      }
      rotate_set_parents(gparent, parent, root, true);
      break;
    }
  }
}

// rb_erase() = __rb_erase_augmented() + ____rb_erase_color()
void rb_erase(rb_node* node, rb_root* root) {
  rb_node* child = node->right;
  rb_node* tmp = node->left;
  rb_node* rebalance = nullptr;
  if (!tmp) {  // case 1: at most a right child, which takes node's place and colour
    rb_node* parent = node->parent;
    change_child(node, child, parent, root);
    if (child) {
      child->parent = parent;
      child->red = node->red;
    } else if (!node->red) {
      rebalance = parent;
    }
  } else if (!child) {  // only a left child
    tmp->parent = node->parent;
    tmp->red = node->red;
    change_child(node, tmp, node->parent, root);
  } else {
    rb_node* successor = child;
    rb_node* parent;
    rb_node* child2;
    tmp = child->left;
    if (!tmp) {  // case 2: the successor is node's right child
      parent = successor;
      child2 = successor->right;
    } else {  // case 3: the successor is the leftmost node below node's right child
      do {
        parent = successor;
        successor = tmp;
        tmp = tmp->left;
      } while (tmp);
      child2 = successor->right;
      parent->left = child2;
      successor->right = child;
      child->parent = successor;
    }
    tmp = node->left;
    successor->left = tmp;
    tmp->parent = successor;
    rb_node* up = node->parent;
    change_child(node, successor, up, root);
    if (child2) {
      child2->parent = parent;
      child2->red = false;
    } else if (!successor->red) {
      rebalance = parent;
    }
    successor->parent = up;
    successor->red = node->red;
  }
  if (rebalance) erase_color(rebalance, root);
  node->parent = node->left = node->right = nullptr;
}

rb_node* rb_first(const rb_root* root) {
  rb_node* n = root->rb_node;
  if (!n) return nullptr;
  while (n->left) n = n->left;
  return n;
}

rb_node* rb_last(const rb_root* root) {
  rb_node* n = root->rb_node;
  if (!n) return nullptr;
  while (n->right) n = n->right;
  return n;
}

rb_node* rb_next(const rb_node* node) {
  if (node->right) {  // the leftmost node of the right subtree
    rb_node* n = node->right;
    while (n->left) n = n->left;
    return n;
  }
  // Otherwise the first ancestor of which we are in the left subtree.
  rb_node* parent;
  while ((parent = node->parent) && node == parent->right) node = parent;
  return parent;
}

rb_node* rb_prev(const rb_node* node) {
  if (node->left) {
    rb_node* n = node->left;
    while (n->right) n = n->right;
    return n;
  }
  rb_node* parent;
  while ((parent = node->parent) && node == parent->left) node = parent;
  return parent;
}

}  // namespace vfiosim::kernel
