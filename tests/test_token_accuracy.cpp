// Per-token accuracy (eval/evaluate.h): the Chomsky-hierarchy papers' metric, on hand-made
// predictions.
#include <gtest/gtest.h>

#include "eval/evaluate.h"

namespace lengen {
namespace {

TEST(TokenAccuracy, CountsGoldWordsAtTheSamePlace) {
  EXPECT_DOUBLE_EQ(token_accuracy("0 1 1 0", "0 1 1 0"), 1.0);
  EXPECT_DOUBLE_EQ(token_accuracy("0 1 1 0", "0 1 0 0"), 0.75);
  EXPECT_DOUBLE_EQ(token_accuracy("0 1 1 0", "1 1 0"), 0.25);        // shifted: one match left
  EXPECT_DOUBLE_EQ(token_accuracy("0 1 1 0", "0 1"), 0.5);           // missing words are wrong
  EXPECT_DOUBLE_EQ(token_accuracy("0 1 1 0", "0 1 1 0 1 1"), 1.0);   // extra words not counted
  EXPECT_DOUBLE_EQ(token_accuracy("0 1 1 0", ""), 0.0);
  EXPECT_DOUBLE_EQ(token_accuracy("3", "4"), 0.0);
  EXPECT_DOUBLE_EQ(token_accuracy("", ""), 1.0);
  EXPECT_DOUBLE_EQ(token_accuracy("", "1"), 0.0);
  // the final output after a scratchpad is what counts
  EXPECT_DOUBLE_EQ(token_accuracy("The answer is 7 .", "Thinking step by step: 3 + 4 . Thus, The answer is 7 ."), 1.0);
}

TEST(TokenAccuracy, ScoresOnlyTheNamedPositions) {
  // divide_by_two's mask: the answer's 1 and the symbol before it
  EXPECT_DOUBLE_EQ(token_accuracy("0 0 1 0 0 0", "0 0 0 0 0 0", {1, 2}), 0.5);
  EXPECT_DOUBLE_EQ(token_accuracy("0 0 1 0 0 0", "1 0 1 1 1 1", {1, 2}), 1.0);
  EXPECT_DOUBLE_EQ(token_accuracy("0 0 1 0 0 0", "0 0", {1, 2}), 0.5);  // missing words are wrong
  EXPECT_DOUBLE_EQ(token_accuracy("1 0 0", "1 0 0", {0}), 1.0);
}

}  // namespace
}  // namespace lengen
