// ItemBits (search_table.h): the bit set every query builds its word levels and candidates in.
// Held against std::set under random sequences of every operation, sparse and dense, across
// Clears of different sizes (one set serves the text and the clinical tables in turn).
#include "service/search_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

namespace codebook::service {
namespace {

// The model: the items, the words given a bit since the last Clear (an And may have emptied
// them since), and whether a dense set was added since.
struct Model {
  std::set<uint32_t> items;
  std::set<uint32_t> touched;
  bool dense = false;
  void Add(uint32_t i) {
    items.insert(i);
    touched.insert(i / 64);
  }
};

void ExpectSame(const ItemBits& bits, const Model& model, size_t items) {
  for (uint32_t i = 0; i < items; ++i) {
    ASSERT_EQ(bits.Test(i), model.items.count(i) == 1) << "item " << i;
  }
  // Every nonempty word is visited, once, ascending.
  std::vector<uint32_t> visited;
  bits.ForEachWord([&](uint32_t k) { visited.push_back(k); });
  ASSERT_TRUE(std::is_sorted(visited.begin(), visited.end()));
  ASSERT_EQ(std::adjacent_find(visited.begin(), visited.end()), visited.end());
  ASSERT_EQ(visited.size(), bits.words_visited());
  std::set<uint32_t> words;
  for (uint32_t i : model.items) words.insert(i / 64);
  for (uint32_t k : words) {
    ASSERT_TRUE(std::binary_search(visited.begin(), visited.end(), k)) << "word " << k;
  }
  // Sparse, it visits only words it was given bits in: emptying it costs what it held.
  if (!model.dense) {
    for (uint32_t k : visited) ASSERT_EQ(model.touched.count(k), 1u) << "word " << k;
  }
}

TEST(ItemBitsTest, MatchesASetUnderRandomOperations) {
  std::mt19937 rng(7);
  auto below = [&](size_t n) { return static_cast<uint32_t>(rng() % n); };
  ItemBits bits, other;
  for (int round = 0; round < 200; ++round) {
    // Sizes as the two tables have them, and smaller: words beyond a smaller size stay empty.
    const size_t items = std::vector<size_t>{97584, 174000, 64, 1000, 5}[below(5)];
    const size_t words = (items + 63) / 64;
    bits.Clear(items);
    other.Clear(items);
    Model m, o;
    ExpectSame(bits, m, items);
    for (int op = 0; op < 30; ++op) {
      switch (below(op % 10 == 9 ? 6 : 4)) {
        case 0: {  // a few postings
          for (int n = 0; n < 20; ++n) {
            uint32_t i = below(items);
            bits.Set(i);
            m.Add(i);
          }
          break;
        }
        case 1: {  // into the other set, then Or
          for (int n = 0; n < 10; ++n) {
            uint32_t i = below(items);
            other.Set(i);
            o.Add(i);
          }
          bits.Or(other);
          for (uint32_t i : o.items) m.Add(i);
          break;
        }
        case 2: {  // one word at a time, zero included
          uint32_t k = below(words);
          uint64_t w = below(2) ? 0 : (uint64_t{rng()} << 32 | rng());
          bits.OrWord(k, w);
          for (int b = 0; b < 64; ++b) {
            if ((w >> b) & 1) m.Add(k * 64 + b);  // past the last item too: bits as given
          }
          break;
        }
        case 3: {  // intersect with the other set
          bits.And(other);
          std::set<uint32_t> kept;
          for (uint32_t i : m.items) {
            if (o.items.count(i)) kept.insert(i);
          }
          m.items = kept;
          break;
        }
        default: {  // a dense set
          std::vector<uint64_t> dense(words, 0);
          for (int n = 0; n < 50; ++n) {
            uint32_t i = below(items);
            dense[i / 64] |= uint64_t{1} << (i % 64);
            m.Add(i);
          }
          bits.OrWords(dense.data());
          m.dense = true;
          break;
        }
      }
      ExpectSame(bits, m, words * 64);
    }
  }
}

TEST(ItemBitsTest, ClearEmptiesWhatADenseSetFilled) {
  ItemBits bits;
  bits.Clear(1000);
  std::vector<uint64_t> all(16, ~uint64_t{0});
  bits.OrWords(all.data());
  EXPECT_TRUE(bits.Test(999));
  EXPECT_EQ(bits.words_visited(), 16u);
  bits.Clear(2000);  // larger now: the new words start empty too
  for (uint32_t i = 0; i < 2000; ++i) ASSERT_FALSE(bits.Test(i)) << i;
  EXPECT_EQ(bits.words_visited(), 0u);
  bits.Set(1999);
  bits.Set(3);
  std::vector<uint32_t> visited;
  bits.ForEachWord([&](uint32_t k) { visited.push_back(k); });
  EXPECT_EQ(visited, (std::vector<uint32_t>{0, 31}));
}

}  // namespace
}  // namespace codebook::service
