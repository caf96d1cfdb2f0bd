// Language-model data (SPEC 6): documents from text files, directories or JSONL, tokenized
// with a BOS in front and concatenated into one token stream per split (train/validation,
// split by document), written once as binary token files and memory-mapped for training and
// evaluation, where they are cut into fixed-length chunks.
//
// A prepared data directory holds:
//   tokenizer.model            the SentencePiece model (trained here or copied)
//   train.bin, valid.bin       little-endian int32 token ids
//   data.json                  sources, counts, settings
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lengen::lm {

struct Document {
  std::string source;  // file path, with ":<line>" for a JSONL record
  std::string text;
};

// The corpus settings ("corpus" in a config; unknown keys are errors).
struct CorpusConfig {
  // Files, directories (searched recursively) or glob patterns. Empty: the default corpus,
  // the Python standard library sources of the system (/usr/lib/python3.*/ without tests).
  std::vector<std::string> paths;
  // File name endings taken from directories (files named explicitly are always read).
  std::vector<std::string> extensions = {".py", ".txt", ".md", ".rst", ".jsonl"};
  // Path parts that exclude a file (test suites; installed third-party packages).
  std::vector<std::string> exclude = {"/test/", "/tests/", "/idle_test/", "/site-packages/",
                                      "/dist-packages/"};
  int64_t max_tokens = 4'000'000;  // stop adding documents beyond this many tokens (all splits)
  double valid_fraction = 0.1;     // fraction of documents held out (by a hash of their source)
  std::string tokenizer;           // an existing tokenizer.model; empty: train a BPE model
  int vocab_size = 4096;           // of the trained BPE model
  int64_t tokenizer_sentences = 200'000;  // lines sampled to train it

  static CorpusConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

std::vector<std::string> default_corpus_paths();

// Reads every document under the paths (sorted, deterministic); errors name the file (and
// line for JSONL). An empty result is an error.
std::vector<Document> read_documents(const CorpusConfig& c);

// Builds a data directory (atomically); prints progress to stderr.
void prepare_lm_data(const CorpusConfig& c, const std::string& out_dir);

// A memory-mapped int32 token file.
class TokenFile {
 public:
  explicit TokenFile(const std::string& path);
  ~TokenFile();
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;
  size_t size() const { return n_; }
  const int32_t* data() const { return data_; }
  const std::string& path() const { return path_; }
  // Checks every id is in [0, vocab_size); the error names the file and offset.
  void check_vocabulary(int vocab_size) const;

 private:
  std::string path_;
  const int32_t* data_ = nullptr;
  size_t n_ = 0, bytes_ = 0;
};

// The opened data directory.
struct LmData {
  std::string dir;
  nlohmann::json info;  // data.json
  std::string tokenizer_path() const { return dir + "/tokenizer.model"; }
  std::string train_path() const { return dir + "/train.bin"; }
  std::string valid_path() const { return dir + "/valid.bin"; }
  static LmData open(const std::string& dir);  // errors name the missing file
};

}  // namespace lengen::lm
