// How task texts become token ids for training and evaluation, and generated ids text again.
//   word level (default): prompt = <bos> source <sep>, answer = words, <eos>; the vocabulary is
//     the data's (data/tokenizer.h).
//   SentencePiece (run key data.tokenizer = a .model file, e.g. t5-base spiece.model): the
//     prompt is built as the paper's formatter builds it, source + the task's separator text
//     ("[SEP] " for sum, copy, reverse, scan, pcfg; nothing for the others; paper_separator),
//     then encoded with the model; the answer is encoded on its own (the prompt ends at a
//     space, so the pieces are those of the joined text) and followed by the model's
//     end-of-sequence piece.
// Encoding is strict either way: a word or character the tokenizer cannot represent is an
// error naming it, never mapped to an unknown token silently.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace lengen::data {

// The text the paper's formatter puts between source and target for `task` (configs/data/*:
// decoder_only_input_output_sep_token "[SEP] " for sum, copy, reverse, scan and pcfg, '' for
// the others): "[SEP] " for sum, scan, pcfg; " [SEP] " for copy and reverse, whose formatted
// prompt ends with a space; "" for the other tasks and for user data.
std::string paper_separator(const std::string& task);

class TextTokenizer {
 public:
  virtual ~TextTokenizer() = default;
  virtual std::string kind() const = 0;  // "word" or "sentencepiece"
  virtual size_t vocab_size() const = 0;
  virtual int32_t pad_id() const = 0;
  virtual int32_t eos_id() const = 0;
  // What the model reads before it writes the answer.
  virtual std::vector<int32_t> encode_prompt(std::string_view source) const = 0;
  // The answer's ids, without the end-of-sequence id.
  virtual std::vector<int32_t> encode_answer(std::string_view answer) const = 0;
  // Generated ids as text: stops at the end-of-sequence id, drops padding and specials.
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // The word-level vocabulary (null for SentencePiece): task-supplied per-word positions and
  // the data/checkpoint vocabulary check need it.
  virtual const Vocabulary* vocabulary() const { return nullptr; }
  // Written next to a checkpoint's weights: vocab.json (word level) or tokenizer.json.
  virtual void save(const std::string& dir) const = 0;
};

class WordTokenizer final : public TextTokenizer {
 public:
  explicit WordTokenizer(Vocabulary vocab) : vocab_(std::move(vocab)) {}
  std::string kind() const override { return "word"; }
  size_t vocab_size() const override { return vocab_.size(); }
  int32_t pad_id() const override { return Vocabulary::kPad; }
  int32_t eos_id() const override { return Vocabulary::kEos; }
  std::vector<int32_t> encode_prompt(std::string_view source) const override;
  std::vector<int32_t> encode_answer(std::string_view answer) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  const Vocabulary* vocabulary() const override { return &vocab_; }
  void save(const std::string& dir) const override;

 private:
  Vocabulary vocab_;
};

// Special ids: eos = the model's end-of-sequence piece (required: answers end with it); pad =
// the model's pad piece, or id 0 when it has none (as the reference pads with id 0; padded
// positions carry no loss); bos is not used (the reference encodes without special tokens);
// unk is an error. The vocabulary is the model's pieces.
class SentencePieceTokenizer final : public TextTokenizer {
 public:
  // Errors name the file: missing, not a SentencePiece model, no end-of-sequence piece.
  static std::unique_ptr<SentencePieceTokenizer> load(const std::string& model_path,
                                                      std::string separator);
  // The same from the model's bytes (`origin` names it); the record's path is `origin`.
  static std::unique_ptr<SentencePieceTokenizer> from_bytes(const std::string& bytes,
                                                            const std::string& origin,
                                                            std::string separator);
  ~SentencePieceTokenizer() override;

  std::string kind() const override { return "sentencepiece"; }
  size_t vocab_size() const override;
  int32_t pad_id() const override { return pad_; }
  int32_t eos_id() const override { return eos_; }
  std::vector<int32_t> encode_prompt(std::string_view source) const override;
  std::vector<int32_t> encode_answer(std::string_view answer) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  void save(const std::string& dir) const override;  // tokenizer.json = record()

  const std::string& path() const { return path_; }
  const std::string& sha256() const { return sha256_; }
  const std::string& separator() const { return separator_; }
  // {"format": "lengen-tokenizer-1", "type": "sentencepiece", "model": path, "sha256",
  //  "separator", "vocab_size", "pad_id", "eos_id"}
  nlohmann::json record() const;
  // A checkpoint's tokenizer.json against this model: another model file (sha256) or another
  // separator is an error naming both.
  void check_record(const nlohmann::json& record, const std::string& origin) const;

 private:
  SentencePieceTokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> sp,
                         std::string path, std::string sha256, std::string separator);
  std::vector<int32_t> encode_strict(std::string_view text, const char* what) const;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string path_, sha256_, separator_;
  int32_t pad_ = 0, eos_ = -1;
};

// tokenizer.json of a checkpoint: its record, or null when the file is absent (word level).
nlohmann::json read_tokenizer_record(const std::string& checkpoint_dir);

}  // namespace lengen::data
