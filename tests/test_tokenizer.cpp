#include <filesystem>

#include <gtest/gtest.h>

#include "data/tokenizer.h"
#include "util/error.h"

using lengen::data::normalize_text;
using lengen::data::split_words;
using lengen::data::Vocabulary;

TEST(Tokenizer, SplitsPunctuationAndKeepsTaskSymbols) {
  EXPECT_EQ(split_words("Is the number of 1's even in the sequence [ 1, 0 ] ?"),
            (std::vector<std::string>{"Is", "the", "number", "of", "1's", "even", "in", "the",
                                      "sequence", "[", "1", ",", "0", "]", "?"}));
  EXPECT_EQ(split_words("If q = -1, t = - q. Then, what is the value of t?"),
            (std::vector<std::string>{"If", "q", "=", "-1", ",", "t", "=", "-", "q", ".", "Then",
                                      ",", "what", "is", "the", "value", "of", "t", "?"}));
  EXPECT_EQ(split_words("x ** 2 I_WALK A12 +1 [NEXT] carry:1 (a);b!"),
            (std::vector<std::string>{"x", "**", "2", "I_WALK", "A12", "+1", "[", "NEXT", "]",
                                      "carry", ":", "1", "(", "a", ")", ";", "b", "!"}));
  EXPECT_TRUE(split_words("  \t\n ").empty());
  EXPECT_EQ(normalize_text("The answer is 1 9 0 2."), "The answer is 1 9 0 2 .");
}

TEST(Tokenizer, SpecialsHaveFixedIds) {
  Vocabulary v;
  EXPECT_EQ(v.size(), 5u);
  EXPECT_EQ(v.id("<pad>"), 0);
  EXPECT_EQ(v.id("<bos>"), 1);
  EXPECT_EQ(v.id("<eos>"), 2);
  EXPECT_EQ(v.id("<sep>"), 3);
  EXPECT_EQ(v.id("<unk>"), 4);
}

TEST(Tokenizer, BuildIsSortedAndDeterministic) {
  auto a = Vocabulary::build({"b a c", "a, d."}, {"z"});
  auto b = Vocabulary::build({"a, d.", "b a c"}, {"z"});
  EXPECT_EQ(a.words(), b.words());
  EXPECT_EQ(a.words(), (std::vector<std::string>{"<pad>", "<bos>", "<eos>", "<sep>", "<unk>", ",",
                                                 ".", "a", "b", "c", "d", "z"}));
  EXPECT_THROW(Vocabulary::build({}, {"two words"}), lengen::Error);
}

TEST(Tokenizer, RoundTripIsNormalizedText) {
  const std::string text = "Sort the following list [ 2 4 6 8, 8 8 1 ].";
  auto v = Vocabulary::build({text});
  auto ids = v.encode(text);
  EXPECT_EQ(v.decode(ids), normalize_text(text));
  // Specials: decoding stops at <eos> and drops <bos>/<sep>/<pad>, keeps <unk>.
  std::vector<int32_t> with_specials{Vocabulary::kBos, ids[0], Vocabulary::kSep, Vocabulary::kUnk,
                                     Vocabulary::kEos, ids[1]};
  EXPECT_EQ(v.decode(with_specials), "Sort <unk>");
  EXPECT_EQ(v.decode(with_specials, false), "<bos> Sort <sep> <unk> <eos> the");
}

TEST(Tokenizer, UnknownWordsAreReported) {
  auto v = Vocabulary::build({"a b c"});
  try {
    v.encode("a b zz c");
    FAIL() << "expected an error";
  } catch (const lengen::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'zz'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("position 2"), std::string::npos) << msg;
  }
  std::vector<lengen::data::UnknownWord> unknown;
  auto ids = v.encode("zz a yy", unknown);
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_EQ(unknown[0].word, "zz");
  EXPECT_EQ(unknown[0].position, 0u);
  EXPECT_EQ(unknown[1].word, "yy");
  EXPECT_EQ(unknown[1].position, 2u);
  EXPECT_EQ(ids[0], Vocabulary::kUnk);
  EXPECT_THROW(v.word(999), lengen::Error);
}

TEST(Tokenizer, SaveLoadRoundTrip) {
  const auto dir = std::filesystem::temp_directory_path() / "lengen_test_tokenizer";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "vocab.json").string();
  auto v = Vocabulary::build({"The answer is +1 ."});
  v.save(path);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto w = Vocabulary::load(path);
  EXPECT_EQ(v.words(), w.words());
  EXPECT_THROW(Vocabulary::from_json_string("{\"words\": [\"a\"]}", "x.json"), lengen::Error);
  EXPECT_THROW(Vocabulary::from_json_string("not json", "x.json"), lengen::Error);
  std::filesystem::remove_all(dir);
}
