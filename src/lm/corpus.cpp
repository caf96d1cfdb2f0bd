#include "lm/corpus.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "io/atomic_file.h"
#include "lm/tokenizer.h"
#include "model/checkpoint.h"
#include "util/error.h"
#include "util/json_parse.h"
#include "util/rng.h"

namespace fs = std::filesystem;

namespace lengen::lm {
namespace {

const std::vector<std::string> kCorpusKeys = {
    "paths",      "extensions", "exclude",    "max_tokens",         "valid_fraction",
    "tokenizer",  "vocab_size", "tokenizer_sentences"};

std::vector<std::string> string_list(const nlohmann::json& v, const std::string& where,
                                     const std::string& key) {
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) fail("{}: key 'corpus.{}' must be a list of strings", where, key);
  std::vector<std::string> out;
  for (const auto& s : v) {
    if (!s.is_string()) fail("{}: key 'corpus.{}' must hold strings, got {}", where, key, s.dump());
    out.push_back(s.get<std::string>());
  }
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool excluded(const CorpusConfig& c, const std::string& path) {
  for (const auto& part : c.exclude)
    if (path.find(part) != std::string::npos) return true;
  return false;
}

std::vector<std::string> expand_glob(const std::string& pattern) {
  glob_t g{};
  std::vector<std::string> out;
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) out.push_back(g.gl_pathv[i]);
  ::globfree(&g);
  return out;
}

// Every file a path stands for: itself, the matching files below a directory, or a glob's.
std::vector<std::string> files_of(const CorpusConfig& c, const std::string& path) {
  std::vector<std::string> roots = {path};
  if (path.find_first_of("*?[") != std::string::npos) {
    roots = expand_glob(path);
    if (roots.empty()) fail("corpus path '{}' matches no file", path);
  }
  std::vector<std::string> files;
  for (const auto& root : roots) {
    if (fs::is_regular_file(root)) {
      files.push_back(root);
    } else if (fs::is_directory(root)) {
      for (const auto& e : fs::recursive_directory_iterator(
               root, fs::directory_options::skip_permission_denied)) {
        const std::string p = e.path().string();
        if (!e.is_regular_file() || excluded(c, p)) continue;
        for (const auto& ext : c.extensions)
          if (ends_with(p, ext)) {
            files.push_back(p);
            break;
          }
      }
    } else {
      fail("corpus path '{}' does not exist", root);
    }
  }
  return files;
}

void read_jsonl(const std::string& path, std::vector<Document>& out) {
  std::ifstream in(path);
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = parse_json_text(line, fmt::format("{}:{}", path, lineno));
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      fail("{}:{}: a JSONL corpus record needs a string field 'text'", path, lineno);
    out.push_back({path + ":" + std::to_string(lineno), j["text"].get<std::string>()});
  }
}

uint64_t source_hash(const std::string& source) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a, then mixed
  for (unsigned char ch : source) h = (h ^ ch) * 1099511628211ull;
  return splitmix64(h);
}

// Validation membership by a hash of the source name: stable when files are added.
bool is_validation(const std::string& source, double fraction) {
  return double(splitmix64(source_hash(source) ^ 0x5EEDull) % 1000000) < fraction * 1e6;
}

void write_tokens(const std::string& path, const std::vector<int32_t>& ids) {
  io::write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(ids.data()),
                                               ids.size() * sizeof(int32_t)));
}

// The tokenizer's default BiPE delimiters as {id: piece}, for data.json.
nlohmann::json delimiter_pieces(const Tokenizer& tok) {
  nlohmann::json out = nlohmann::json::object();
  try {
    for (int32_t id : tok.default_delimiters()) out[std::to_string(id)] = tok.piece(id);
  } catch (const Error&) {
    // none: a BiPE run must then name its delimiters (data.delimiters)
  }
  return out;
}

}  // namespace

CorpusConfig CorpusConfig::from_json(const nlohmann::json& j, const std::string& where) {
  CorpusConfig c;
  if (j.is_null()) return c;
  if (!j.is_object()) fail("{}: 'corpus' must be an object", where);
  auto integer = [&](const std::string& k) {
    if (!j[k].is_number_integer()) fail("{}: key 'corpus.{}' must be an integer", where, k);
    return j[k].get<int64_t>();
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k == "paths") c.paths = string_list(*it, where, k);
    else if (k == "extensions") c.extensions = string_list(*it, where, k);
    else if (k == "exclude") c.exclude = string_list(*it, where, k);
    else if (k == "max_tokens") c.max_tokens = integer(k);
    else if (k == "vocab_size") c.vocab_size = int(integer(k));
    else if (k == "tokenizer_sentences") c.tokenizer_sentences = integer(k);
    else if (k == "valid_fraction") {
      if (!it->is_number()) fail("{}: key 'corpus.valid_fraction' must be a number", where);
      c.valid_fraction = it->get<double>();
    } else if (k == "tokenizer") {
      if (!it->is_string()) fail("{}: key 'corpus.tokenizer' must be a path", where);
      c.tokenizer = it->get<std::string>();
    } else {
      fail("{}: unknown key 'corpus.{}'; allowed keys: {}", where, k, fmt::join(kCorpusKeys, ", "));
    }
  }
  if (c.max_tokens <= 0) fail("{}: key 'corpus.max_tokens' must be positive", where);
  if (!(c.valid_fraction > 0 && c.valid_fraction < 1))
    fail("{}: key 'corpus.valid_fraction' must be in (0, 1)", where);
  if (c.tokenizer_sentences <= 0) fail("{}: key 'corpus.tokenizer_sentences' must be positive", where);
  return c;
}

nlohmann::json CorpusConfig::to_json() const {
  return {{"paths", paths},           {"extensions", extensions},
          {"exclude", exclude},       {"max_tokens", max_tokens},
          {"valid_fraction", valid_fraction}, {"tokenizer", tokenizer},
          {"vocab_size", vocab_size}, {"tokenizer_sentences", tokenizer_sentences}};
}

std::vector<std::string> default_corpus_paths() {
  std::vector<std::string> out;
  for (const auto& p : expand_glob("/usr/lib/python3.*"))
    if (fs::is_directory(p)) out.push_back(p);
  if (out.empty())
    fail("the default corpus (the Python standard library under /usr/lib/python3.*/) is not "
         "installed; give corpus.paths");
  return out;
}

std::vector<Document> read_documents(const CorpusConfig& c) {
  const std::vector<std::string> paths = c.paths.empty() ? default_corpus_paths() : c.paths;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    auto f = files_of(c, p);
    files.insert(files.end(), f.begin(), f.end());
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  std::vector<Document> docs;
  for (const auto& f : files) {
    if (ends_with(f, ".jsonl")) {
      read_jsonl(f, docs);
    } else {
      std::string text = io::read_file(f);
      if (text.find_first_not_of(" \t\r\n") != std::string::npos) docs.push_back({f, std::move(text)});
    }
  }
  if (docs.empty())
    fail("the corpus is empty: no text in {} ({} files read)", fmt::join(paths, ", "), files.size());
  return docs;
}

void prepare_lm_data(const CorpusConfig& c, const std::string& out_dir) {
  std::vector<Document> docs = read_documents(c);
  // A deterministic shuffle (by a hash of each source), so a corpus capped by max_tokens is a
  // sample of the whole corpus rather than its alphabetical beginning.
  std::stable_sort(docs.begin(), docs.end(), [](const Document& a, const Document& b) {
    return source_hash(a.source) < source_hash(b.source);
  });
  size_t bytes = 0;
  for (const auto& d : docs) bytes += d.text.size();
  fmt::print(stderr, "corpus: {} documents, {:.1f} MB\n", docs.size(), double(bytes) / 1e6);
  write_directory_atomic(out_dir, [&](const std::string& tmp) {
    const std::string model_path = tmp + "/tokenizer.model";
    std::string tokenizer_source = c.tokenizer;
    if (c.tokenizer.empty()) {
      fmt::print(stderr, "training a BPE tokenizer (vocab {}) on up to {} lines...\n",
                 c.vocab_size, c.tokenizer_sentences);
      std::vector<std::string> texts;
      for (const auto& d : docs) texts.push_back(d.text);
      Tokenizer::train_bpe(texts, c.vocab_size, size_t(c.tokenizer_sentences), model_path);
      tokenizer_source = "trained (BPE)";
    } else {
      Tokenizer::load(c.tokenizer);  // validates before copying
      fs::copy_file(c.tokenizer, model_path);
    }
    const Tokenizer tok = Tokenizer::load(model_path);
    std::vector<int32_t> train, valid;
    int64_t n_train_docs = 0, n_valid_docs = 0, total = 0;
    size_t used = 0;
    for (; used < docs.size() && total < c.max_tokens; ++used) {
      std::vector<int32_t> ids;
      if (tok.bos_id() >= 0) ids.push_back(tok.bos_id());
      const std::vector<int32_t> body = tok.encode(docs[used].text);
      ids.insert(ids.end(), body.begin(), body.end());
      const bool v = is_validation(docs[used].source, c.valid_fraction);
      auto& dst = v ? valid : train;
      dst.insert(dst.end(), ids.begin(), ids.end());
      (v ? n_valid_docs : n_train_docs) += 1;
      total += int64_t(ids.size());
      if (used % 200 == 0 && ::isatty(2))
        fmt::print(stderr, "\rtokenizing: {}/{} documents, {} tokens", used, docs.size(), total);
    }
    fmt::print(stderr, "\rtokenized {} of {} documents: {} tokens (train {}, validation {})\n", used,
               docs.size(), total, train.size(), valid.size());
    if (used < docs.size())
      fmt::print(stderr, "corpus capped at corpus.max_tokens = {}: {} documents left out\n",
                 c.max_tokens, docs.size() - used);
    if (train.empty() || valid.empty())
      fail("the corpus split left {} empty ({} documents): add text or change "
           "corpus.valid_fraction",
           train.empty() ? "the training split" : "the validation split", used);
    write_tokens(tmp + "/train.bin", train);
    write_tokens(tmp + "/valid.bin", valid);
    const nlohmann::json info = {
        {"corpus", c.to_json()},
        {"tokenizer", tokenizer_source},
        {"vocab_size", tok.vocab_size()},
        {"default_delimiters", delimiter_pieces(tok)},
        {"bos_id", tok.bos_id()},
        {"documents", {{"train", n_train_docs}, {"valid", n_valid_docs}, {"left_out", docs.size() - used}}},
        {"tokens", {{"train", train.size()}, {"valid", valid.size()}}},
        {"bytes", bytes},
    };
    io::write_file_atomic(tmp + "/data.json", info.dump(2) + "\n");
  });
}

TokenFile::TokenFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail("{}: cannot open token file", path);
  struct stat st {};
  ::fstat(fd, &st);
  bytes_ = size_t(st.st_size);
  if (bytes_ % sizeof(int32_t) != 0) {
    ::close(fd);
    fail("{}: size {} is not a multiple of 4 (int32 token ids): truncated or not a token file",
         path, bytes_);
  }
  n_ = bytes_ / sizeof(int32_t);
  if (n_ > 0) {
    void* m = ::mmap(nullptr, bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      ::close(fd);
      fail("{}: cannot memory-map the token file", path);
    }
    data_ = static_cast<const int32_t*>(m);
  }
  ::close(fd);
}

TokenFile::~TokenFile() {
  if (data_) ::munmap(const_cast<int32_t*>(data_), bytes_);
}

void TokenFile::check_vocabulary(int vocab_size) const {
  for (size_t i = 0; i < n_; ++i)
    if (data_[i] < 0 || data_[i] >= vocab_size)
      fail("{}: token id {} at index {} is outside the vocabulary of {}", path_, data_[i], i,
           vocab_size);
}

LmData LmData::open(const std::string& dir) {
  LmData d{dir, {}};
  for (const auto& f : {d.tokenizer_path(), d.train_path(), d.valid_path(), dir + "/data.json"})
    if (!fs::exists(f))
      fail("{}: not a prepared LM data directory ({} is missing; make one with `lengen lm data`)",
           dir, f);
  d.info = read_json_file(dir + "/data.json");
  return d;
}

}  // namespace lengen::lm
