#include "data/text_tokenizer.h"

#include <sentencepiece_processor.h>

#include <filesystem>

#include "data/sentencepiece_model.h"
#include "io/atomic_file.h"
#include "util/error.h"
#include "util/json_parse.h"
#include "util/sha256.h"

namespace fs = std::filesystem;

namespace lengen::data {

namespace {

constexpr const char* kRecordFile = "tokenizer.json";

std::string excerpt(std::string_view text) {
  return text.size() > 120 ? std::string(text.substr(0, 120)) + "..." : std::string(text);
}

}  // namespace

std::string paper_separator(const std::string& task) {
  // The copy/reverse formatters end their prompt with a space ("Copy: a b "), the others
  // with the last source word ("Compute: 1 + 2 .", "jump twice"); T5's pieces differ ("▁[").
  if (task == "copy" || task == "reverse") return " [SEP] ";
  if (task == "sum" || task == "scan" || task == "pcfg") return "[SEP] ";
  return "";
}

// ---- word level ------------------------------------------------------------------------------

std::vector<int32_t> WordTokenizer::encode_prompt(std::string_view source) const {
  std::vector<int32_t> ids{Vocabulary::kBos};
  for (int32_t id : vocab_.encode(source)) ids.push_back(id);
  ids.push_back(Vocabulary::kSep);
  return ids;
}

std::vector<int32_t> WordTokenizer::encode_answer(std::string_view answer) const {
  return vocab_.encode(answer);
}

std::string WordTokenizer::decode(const std::vector<int32_t>& ids) const { return vocab_.decode(ids); }

void WordTokenizer::save(const std::string& dir) const { vocab_.save(dir + "/vocab.json"); }

// ---- SentencePiece ---------------------------------------------------------------------------

SentencePieceTokenizer::SentencePieceTokenizer(
    std::unique_ptr<sentencepiece::SentencePieceProcessor> sp, std::string path,
    std::string sha256, std::string separator)
    : sp_(std::move(sp)), path_(std::move(path)), sha256_(std::move(sha256)),
      separator_(std::move(separator)) {
  eos_ = sp_->eos_id();
  if (eos_ < 0 || eos_ >= sp_->GetPieceSize())
    fail("{}: the SentencePiece model has no end-of-sequence piece (eos_id); task answers end "
         "with it, so the model needs one",
         path_);
  const int pad = sp_->pad_id();
  pad_ = pad >= 0 && pad < sp_->GetPieceSize() ? pad : 0;
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::load(const std::string& model_path,
                                                                     std::string separator) {
  if (!fs::is_regular_file(model_path))
    fail("{}: SentencePiece model not found (data.tokenizer)", model_path);
  const std::string bytes = io::read_file(model_path);
  const std::string path = fs::absolute(model_path).lexically_normal().string();
  return std::unique_ptr<SentencePieceTokenizer>(new SentencePieceTokenizer(
      load_sentencepiece(bytes, model_path), path, sha256_hex(bytes), std::move(separator)));
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::from_bytes(
    const std::string& bytes, const std::string& origin, std::string separator) {
  return std::unique_ptr<SentencePieceTokenizer>(new SentencePieceTokenizer(
      load_sentencepiece(bytes, origin), origin, sha256_hex(bytes), std::move(separator)));
}

size_t SentencePieceTokenizer::vocab_size() const { return size_t(sp_->GetPieceSize()); }

std::vector<int32_t> SentencePieceTokenizer::encode_strict(std::string_view text,
                                                           const char* what) const {
  std::vector<int> ids;
  const std::string input(text);
  const auto status = sp_->Encode(input, &ids);
  if (!status.ok()) fail("{}: cannot encode the {} \"{}\": {}", path_, what, excerpt(text), status.ToString());
  const int unk = sp_->unk_id();
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == unk) {
      // The pieces' surface text names what the model lacks (an unknown piece keeps its text).
      std::vector<std::string> pieces;
      (void)sp_->Encode(input, &pieces);
      const std::string surface = i < pieces.size() ? pieces[i] : "?";
      fail("the SentencePiece model {} cannot represent '{}' (piece {}) in the {} \"{}\": it "
           "would become the unknown piece",
           path_, surface, i, what, excerpt(text));
    }
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::vector<int32_t> SentencePieceTokenizer::encode_prompt(std::string_view source) const {
  std::string prompt(source);
  prompt += separator_;
  return encode_strict(prompt, "source");
}

std::vector<int32_t> SentencePieceTokenizer::encode_answer(std::string_view answer) const {
  std::vector<int32_t> ids = encode_strict(answer, "answer");
  // The model must be able to write the answer: its pieces must decode to the same words (a
  // normalisation such as NFKC could otherwise change the text the answer checker reads).
  const std::string back = decode(ids);
  if (normalize_text(back) != normalize_text(answer))
    fail("the SentencePiece model {} does not reproduce the answer \"{}\": its pieces decode to "
         "\"{}\"",
         path_, excerpt(answer), excerpt(back));
  return ids;
}

std::string SentencePieceTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::vector<int> kept;
  const int n = sp_->GetPieceSize();
  for (int32_t id : ids) {
    if (id == eos_) break;
    if (id < 0 || id >= n) fail("{}: token id {} outside the vocabulary of {} pieces", path_, id, n);
    if (sp_->IsControl(id)) continue;  // <pad>, <s>: no text
    kept.push_back(id);
  }
  std::string out;
  const auto status = sp_->Decode(kept, &out);
  if (!status.ok()) fail("{}: cannot decode ids: {}", path_, status.ToString());
  return out;
}

nlohmann::json SentencePieceTokenizer::record() const {
  return {{"format", "lengen-tokenizer-1"}, {"type", "sentencepiece"}, {"model", path_},
          {"sha256", sha256_},  {"separator", separator_},  {"vocab_size", vocab_size()},
          {"pad_id", pad_},     {"eos_id", eos_}};
}

void SentencePieceTokenizer::save(const std::string& dir) const {
  io::write_file_atomic(dir + "/" + kRecordFile, record().dump(2) + "\n");
}

void SentencePieceTokenizer::check_record(const nlohmann::json& rec, const std::string& origin) const {
  if (!rec.is_object() || json_get_or<std::string>(rec, "type", "", origin) != "sentencepiece")
    fail("{}: not a SentencePiece tokenizer record", origin);
  const std::string sha = json_get_or<std::string>(rec, "sha256", "", origin);
  const std::string model = json_get_or<std::string>(rec, "model", "", origin);
  if (sha != sha256_)
    fail("the SentencePiece model {} (sha256 {}) is not the one the checkpoint was trained with: "
         "{} records {} (sha256 {})",
         path_, sha256_, origin, model, sha);
  const std::string sep = json_get_or<std::string>(rec, "separator", "", origin);
  if (sep != separator_)
    fail("{}: the checkpoint was trained with the separator \"{}\", this evaluation would use "
         "\"{}\"",
         origin, sep, separator_);
}

nlohmann::json read_tokenizer_record(const std::string& checkpoint_dir) {
  const std::string path = checkpoint_dir + "/" + kRecordFile;
  if (!fs::exists(path)) return nullptr;
  const nlohmann::json j = parse_json_text(io::read_file(path), path);
  if (!j.is_object() || json_get_or<std::string>(j, "format", "", path) != "lengen-tokenizer-1")
    fail("{}: not a lengen tokenizer record (format lengen-tokenizer-1)", path);
  return j;
}

}  // namespace lengen::data
