// SentencePiece tokenizer (Debian's libsentencepiece): load an existing tokenizer.model (e.g.
// the Llama tokenizer of the BiPE checkpoints) or train a BPE model on a corpus; and the BiPE
// delimiter ids derived from its pieces.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace lengen::lm {

class Tokenizer {
 public:
  // Errors name the file: missing, or not a SentencePiece model.
  static Tokenizer load(const std::string& model_path);
  // The same from a model's bytes; `origin` names it in errors.
  static Tokenizer from_bytes(const std::string& bytes, const std::string& origin);
  // Trains a byte-fallback BPE model (identity normalisation, so newlines and indentation
  // survive: a newline becomes the byte piece <0x0A>, as in the Llama tokenizer) on the lines
  // of `documents`, at most `max_sentences` of them (a deterministic sample), and writes it to
  // `model_path` atomically.
  static Tokenizer train_bpe(const std::vector<std::string>& documents, int vocab_size,
                             size_t max_sentences, const std::string& model_path);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  std::vector<int32_t> encode(const std::string& text) const;
  std::string decode(const std::vector<int32_t>& ids) const;
  int vocab_size() const;
  int bos_id() const;  // -1 when the model has none
  std::string piece(int32_t id) const;
  const std::string& path() const { return path_; }

  // The segment delimiters of BiPE: pieces that are a newline (the byte piece <0x0A> or a piece
  // containing "\n") or a sentence end preceded by a space ("▁.", as in the reference).
  std::vector<int32_t> default_delimiters() const;
  // Each entry is a piece ("<0x0A>", "▁.") or a decimal id; one that is not in the vocabulary is
  // an error naming it.
  std::vector<int32_t> resolve_delimiters(const std::vector<std::string>& spec) const;

 private:
  Tokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> sp, std::string path);
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string path_;
};

}  // namespace lengen::lm
