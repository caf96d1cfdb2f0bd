#include "lm/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "data/sentencepiece_model.h"
#include "io/atomic_file.h"
#include "util/error.h"

namespace lengen::lm {
namespace {

// Feeds the non-empty lines of the documents to the trainer, in order.
class LineIterator final : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(const std::vector<std::string>& docs) : docs_(docs) { advance(); }
  bool done() const override { return doc_ >= docs_.size(); }
  void Next() override { advance(); }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void advance() {
    while (doc_ < docs_.size()) {
      const std::string& d = docs_[doc_];
      if (at_ >= d.size()) {
        ++doc_;
        at_ = 0;
        continue;
      }
      size_t end = d.find('\n', at_);
      if (end == std::string::npos) end = d.size();
      line_.assign(d, at_, end - at_);
      at_ = end + 1;
      if (line_.find_first_not_of(" \t\r") != std::string::npos) return;
    }
  }
  const std::vector<std::string>& docs_;
  size_t doc_ = 0, at_ = 0;
  std::string line_;
};

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> sp, std::string path)
    : sp_(std::move(sp)), path_(std::move(path)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::load(const std::string& model_path) {
  if (!std::filesystem::is_regular_file(model_path))
    fail("{}: tokenizer model not found", model_path);
  return from_bytes(io::read_file(model_path), model_path);
}

Tokenizer Tokenizer::from_bytes(const std::string& bytes, const std::string& origin) {
  return Tokenizer(data::load_sentencepiece(bytes, origin), origin);
}

Tokenizer Tokenizer::train_bpe(const std::vector<std::string>& documents, int vocab_size,
                               size_t max_sentences, const std::string& model_path) {
  if (vocab_size < 300)
    fail("tokenizer vocab_size {} is too small: byte fallback alone takes 256 pieces + 3 "
         "specials (use >= 300)",
         vocab_size);
  LineIterator lines(documents);
  if (lines.done()) fail("cannot train a tokenizer: the corpus has no text");
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", "bpe"},
      {"vocab_size", std::to_string(vocab_size)},
      {"byte_fallback", "true"},
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"allow_whitespace_only_pieces", "true"},  // indentation runs of code become pieces
      {"split_digits", "true"},
      {"character_coverage", "0.9995"},
      {"input_sentence_size", std::to_string(max_sentences)},
      {"shuffle_input_sentence", "true"},
      {"max_sentence_length", "8192"},
      {"num_threads", "1"},
      {"hard_vocab_limit", "false"},
      {"minloglevel", "2"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "-1"},
  };
  std::string proto;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &lines, &proto);
  if (!status.ok()) fail("SentencePiece training failed: {}", status.ToString());
  io::write_file_atomic(model_path, proto);
  return load(model_path);
}

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  const auto status = sp_->Encode(text, &ids);
  if (!status.ok()) fail("{}: cannot encode text: {}", path_, status.ToString());
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  const auto status = sp_->Decode(std::vector<int>(ids.begin(), ids.end()), &out);
  if (!status.ok()) fail("{}: cannot decode ids: {}", path_, status.ToString());
  return out;
}

int Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }
int Tokenizer::bos_id() const { return sp_->bos_id(); }
std::string Tokenizer::piece(int32_t id) const {
  if (id < 0 || id >= vocab_size()) fail("{}: token id {} outside the vocabulary", path_, id);
  return sp_->IdToPiece(id);
}

std::vector<int32_t> Tokenizer::default_delimiters() const {
  std::vector<int32_t> ids;
  for (int id = 0; id < vocab_size(); ++id) {
    const std::string& p = sp_->IdToPiece(id);
    if (p == "<0x0A>" || p == "\xe2\x96\x81." || (!sp_->IsControl(id) && p.find('\n') != std::string::npos))
      ids.push_back(id);
  }
  if (ids.empty())
    fail("{}: no newline or \"\xe2\x96\x81.\" piece to use as a BiPE delimiter; give the delimiters "
         "explicitly (data.delimiters)",
         path_);
  return ids;
}

std::vector<int32_t> Tokenizer::resolve_delimiters(const std::vector<std::string>& spec) const {
  std::vector<int32_t> ids;
  for (const std::string& s : spec) {
    const bool numeric = !s.empty() && std::all_of(s.begin(), s.end(), ::isdigit);
    // A decimal id: compared as text length first, so "99999999999" is out of range, not a throw.
    int id = numeric ? (s.size() > 9 ? vocab_size() : std::stoi(s)) : sp_->PieceToId(s);
    if (numeric ? id >= vocab_size() : (id == sp_->unk_id() && s != sp_->IdToPiece(id)))
      fail("delimiter \"{}\" is not in the vocabulary of {} ({} pieces)", s, path_, vocab_size());
    ids.push_back(id);
  }
  if (ids.empty()) fail("the delimiter list is empty");
  return ids;
}

}  // namespace lengen::lm
