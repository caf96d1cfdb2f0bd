// Word-level tokenizer (SPEC section 3): words are separated by whitespace, and the punctuation
// characters . , ? [ ] : ( ) ; ! are split off as words of their own. Everything else stays
// inside its word, so task symbols such as -1, +1, **, 1's, I_WALK or A12 are single words.
//
// Decoding joins words with single spaces, so decode(encode(t)) == normalize_text(t), not t
// ("[NEXT]" comes back as "[ NEXT ]", "2." as "2 ."). Answer checkers therefore compare
// normalized text / word sequences, never raw strings.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lengen::data {

// True for the characters that always form a word of their own.
bool is_split_punctuation(char c);

// The words of `text` by the rule above.
std::vector<std::string> split_words(std::string_view text);

// The words of `text` joined by single spaces: the canonical form of a text.
std::string normalize_text(std::string_view text);

// One unknown word met while encoding: the word and its word index in the text.
struct UnknownWord {
  std::string word;
  size_t position = 0;
};

class Vocabulary {
 public:
  // Fixed ids of the special words; task words follow from id 5 on.
  static constexpr int32_t kPad = 0, kBos = 1, kEos = 2, kSep = 3, kUnk = 4;
  static const std::vector<std::string>& specials();  // {"<pad>","<bos>","<eos>","<sep>","<unk>"}

  Vocabulary();  // specials only

  // Vocabulary of every word in `texts` plus `extra_words` (a task's alphabet), sorted
  // bytewise after the specials, so the same data always give the same ids.
  static Vocabulary build(const std::vector<std::string>& texts,
                          const std::vector<std::string>& extra_words = {});

  size_t size() const { return words_.size(); }
  const std::string& word(int32_t id) const;        // throws lengen::Error when out of range
  bool contains(const std::string& word) const { return ids_.count(word) > 0; }
  int32_t id(const std::string& word) const;        // throws lengen::Error naming the word
  const std::vector<std::string>& words() const { return words_; }

  // Strict: throws lengen::Error naming the first unknown word and its word position.
  std::vector<int32_t> encode(std::string_view text) const;
  // Lenient: unknown words become <unk> and are appended to `unknown` (never silently).
  std::vector<int32_t> encode(std::string_view text, std::vector<UnknownWord>& unknown) const;

  // Words joined by single spaces. With skip_specials, <pad>/<bos>/<sep> are dropped and
  // decoding stops at <eos>; <unk> is always kept visible.
  std::string decode(const std::vector<int32_t>& ids, bool skip_specials = true) const;

  // vocab.json: {"format": "lengen-vocab-1", "words": [...]} with id = index.
  void save(const std::string& path) const;  // atomic (temporary file + rename)
  static Vocabulary load(const std::string& path);
  std::string to_json_string() const;
  static Vocabulary from_json_string(const std::string& text, const std::string& origin);

 private:
  void add(const std::string& word);
  std::vector<std::string> words_;
  std::unordered_map<std::string, int32_t> ids_;
};

}  // namespace lengen::data
