#include "data/tokenizer.h"

#include "io/atomic_file.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/jsonl.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace lengen::data {

bool is_split_punctuation(char c) {
  switch (c) {
    case '.': case ',': case '?': case '[': case ']': case ':': case '(': case ')': case ';':
    case '!':
      return true;
    default:
      return false;
  }
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  auto flush = [&] {
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  for (char c : text) {
    if (is_space(c)) {
      flush();
    } else if (is_split_punctuation(c)) {
      flush();
      words.emplace_back(1, c);
    } else {
      current.push_back(c);
    }
  }
  flush();
  return words;
}

std::string normalize_text(std::string_view text) {
  std::string out;
  for (const auto& w : split_words(text)) {
    if (!out.empty()) out.push_back(' ');
    out += w;
  }
  return out;
}

const std::vector<std::string>& Vocabulary::specials() {
  static const std::vector<std::string> s{"<pad>", "<bos>", "<eos>", "<sep>", "<unk>"};
  return s;
}

Vocabulary::Vocabulary() {
  for (const auto& s : specials()) add(s);
}

void Vocabulary::add(const std::string& word) {
  if (ids_.count(word)) return;
  ids_.emplace(word, static_cast<int32_t>(words_.size()));
  words_.push_back(word);
}

Vocabulary Vocabulary::build(const std::vector<std::string>& texts,
                             const std::vector<std::string>& extra_words) {
  std::set<std::string> all;
  for (const auto& t : texts)
    for (auto& w : split_words(t)) all.insert(std::move(w));
  for (const auto& w : extra_words) {
    // An alphabet entry must itself be one word, or it could never be produced by encode().
    auto parts = split_words(w);
    if (parts.size() != 1 || parts[0] != w)
      fail("vocabulary: alphabet entry '{}' is not a single word under the tokenizer rules", w);
    all.insert(w);
  }
  Vocabulary v;
  for (const auto& w : all) v.add(w);  // specials already present are skipped
  return v;
}

const std::string& Vocabulary::word(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= words_.size())
    fail("vocabulary: id {} out of range (size {})", id, words_.size());
  return words_[static_cast<size_t>(id)];
}

int32_t Vocabulary::id(const std::string& word) const {
  auto it = ids_.find(word);
  if (it == ids_.end()) fail("vocabulary: unknown word '{}'", word);
  return it->second;
}

std::vector<int32_t> Vocabulary::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  auto words = split_words(text);
  ids.reserve(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    auto it = ids_.find(words[i]);
    if (it == ids_.end())
      fail("unknown word '{}' at word position {} of \"{}\" (vocabulary of {} words)", words[i],
           i, text.size() > 200 ? std::string(text.substr(0, 200)) + "..." : std::string(text),
           words_.size());
    ids.push_back(it->second);
  }
  return ids;
}

std::vector<int32_t> Vocabulary::encode(std::string_view text,
                                        std::vector<UnknownWord>& unknown) const {
  std::vector<int32_t> ids;
  auto words = split_words(text);
  ids.reserve(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    auto it = ids_.find(words[i]);
    if (it == ids_.end()) {
      unknown.push_back({words[i], i});
      ids.push_back(kUnk);
    } else {
      ids.push_back(it->second);
    }
  }
  return ids;
}

std::string Vocabulary::decode(const std::vector<int32_t>& ids, bool skip_specials) const {
  std::string out;
  for (int32_t id : ids) {
    if (skip_specials) {
      if (id == kEos) break;
      if (id == kPad || id == kBos || id == kSep) continue;
    }
    if (!out.empty()) out.push_back(' ');
    out += word(id);
  }
  return out;
}

std::string Vocabulary::to_json_string() const {
  nlohmann::json j;
  j["format"] = "lengen-vocab-1";
  j["words"] = words_;
  return j.dump(1) + "\n";
}

Vocabulary Vocabulary::from_json_string(const std::string& text, const std::string& origin) {
  const nlohmann::json j = parse_json_text(text, origin);
  if (!j.is_object() || !j.contains("words") || !j["words"].is_array())
    fail("{}: expected an object with a \"words\" array", origin);
  // {"format": "lengen-vocab-1", "words": [...]}: another file's content (a dataset.json, a
  // config) is an error, not an empty vocabulary.
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "format" && it.key() != "words")
      fail("{}: unknown key '{}'; a vocabulary has only \"format\" and \"words\"", origin, it.key());
  if (j.contains("format") && j["format"] != "lengen-vocab-1")
    fail("{}: key 'format' must be \"lengen-vocab-1\", got {}", origin, json_excerpt(j["format"]));
  const auto& arr = j["words"];
  const auto& sp = specials();
  if (arr.size() < sp.size()) fail("{}: fewer words than the {} specials", origin, sp.size());
  Vocabulary v;
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_string()) fail("{}: words[{}] is not a string", origin, i);
    const auto w = arr[i].get<std::string>();
    if (i < sp.size()) {
      if (w != sp[i]) fail("{}: words[{}] must be the special '{}', found '{}'", origin, i, sp[i], w);
      continue;
    }
    if (v.contains(w)) fail("{}: duplicate word '{}' at index {}", origin, w, i);
    // Words are what split_words() yields: a word with spaces or split punctuation in it could
    // never be produced by encode(), so it is a corrupt entry.
    const auto parts = split_words(w);
    if (parts.size() != 1 || parts[0] != w)
      fail("{}: words[{}] '{}' is not a single word under the tokenizer rules", origin, i, w);
    v.add(w);
  }
  return v;
}

void Vocabulary::save(const std::string& path) const { io::write_file_atomic(path, to_json_string()); }

Vocabulary Vocabulary::load(const std::string& path) {
  return from_json_string(io::read_file(path), path);
}

}  // namespace lengen::data
