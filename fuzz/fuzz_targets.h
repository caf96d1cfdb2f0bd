// The fuzz targets: one function per parser of user-supplied files, each taking the raw bytes
// of an input. A lengen::Error is the expected outcome of a bad input; anything else (another
// exception, a sanitizer report, an allocation beyond libFuzzer's -malloc_limit_mb, a hang)
// is a bug. Header-only so that the libFuzzer executables (fuzz/fuzz_main.cpp) and the unit
// test replaying fuzz/regressions/ (tests/test_fuzz_regressions.cpp) share them.
//
// Inputs made of several files (a checkpoint directory, a dataset directory, a capture) hold
// them one after the other, separated by kPartSeparator; the seeds under fuzz/corpus/ show it.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/attention_capture.h"
#include "config/config_loader.h"
#include "data/jsonl.h"
#include "data/text_tokenizer.h"
#include "data/token_file.h"
#include "data/tokenizer.h"
#include "io/dtype.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"
#include "lm/corpus.h"
#include "arch/model_config.h"
#include "arch/param_layout.h"
#include "lm/tokenizer.h"
#include "model/checkpoint.h"
#include "model/convert.h"
#include "model/forward.h"
#include "pipeline/run_config.h"
#include "sweep/grid.h"
#include "train/train_config.h"
#include "util/error.h"
#include "util/json_config.h"
#include "util/json_parse.h"

namespace lengen::fuzz {

inline constexpr std::string_view kPartSeparator = "\n--8<--\n";

// The input cut at each separator (at most `max_parts` parts; the last one takes the rest).
inline std::vector<std::string> split_parts(const uint8_t* data, size_t size, size_t max_parts) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  size_t start = 0;
  while (parts.size() + 1 < max_parts) {
    const size_t at = all.find(kPartSeparator, start);
    if (at == std::string_view::npos) break;
    parts.emplace_back(all.substr(start, at - start));
    start = at + kPartSeparator.size();
  }
  parts.emplace_back(all.substr(start));
  return parts;
}

// A scratch directory of this process (removed at exit), emptied before each use.
inline std::string scratch_dir() {
  static const std::string dir = [] {
    const auto d = std::filesystem::temp_directory_path() /
                   ("lengen-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                                      ("lengen-fuzz-" + std::to_string(::getpid())),
                                  ec);
    });
    return d.string();
  }();
  for (const auto& e : std::filesystem::directory_iterator(dir)) std::filesystem::remove_all(e);
  return dir;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// The input's parts as the named files of the emptied scratch directory (no file for a part
// the input lacks); returns the directory.
inline std::string write_input_files(const uint8_t* data, size_t size,
                                     const std::vector<std::string>& names) {
  const auto parts = split_parts(data, size, names.size());
  const std::string dir = scratch_dir();
  for (size_t i = 0; i < parts.size(); ++i) write_bytes(dir + "/" + names[i], parts[i]);
  return dir;
}

// A broken expectation: libFuzzer's crash (abort), or a FuzzFailure thrown in the unit test
// that replays the corpora and regressions (tests/test_fuzz_regressions.cpp).
struct FuzzFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
inline bool& throw_on_failure() {
  static bool value = false;
  return value;
}
[[noreturn]] inline void failure(const std::string& what) {
  if (throw_on_failure()) throw FuzzFailure(what);
  std::fprintf(stderr, "%s\n", what.c_str());
  std::abort();
}

// Runs `body`; lengen::Error is fine, any other exception (what a user sees as "lengen:
// internal error") is a failure.
inline int guarded(const char* target, const std::function<void()>& body) {
  try {
    body();
  } catch (const Error&) {
  } catch (const FuzzFailure&) {
    throw;
  } catch (const std::exception& e) {
    failure(std::string("fuzz ") + target + ": escaped exception (an internal error for a user): " +
            e.what());
  }
  return 0;
}

// --- safetensors: header and data ------------------------------------------------------------
inline int safetensors(const uint8_t* data, size_t size) {
  return guarded("safetensors", [&] {
    const auto file = io::SafetensorsFile::parse(std::string(reinterpret_cast<const char*>(data), size),
                                                 "fuzz.safetensors");
    if (file.total_elements() > size)  // the bound load_model relies on
      failure("safetensors: more elements than bytes in the file");
    for (const auto& name : file.names()) {
      const auto& t = file.info(name);
      std::vector<float> values(size_t(t.numel()));
      try {
        file.read_f32(name, t.shape, values.data());
      } catch (const Error&) {
      }
    }
    (void)io::serialize_safetensors({});
  });
}

// --- torch.save files: the zip archive (libzip + the restricted unpickler) or the legacy
// format, every tensor read ----------------------------------------------------------------
inline int torch_checkpoint(const uint8_t* data, size_t size) {
  return guarded("torch_checkpoint", [&] {
    const auto file = io::TorchCheckpoint::parse(std::string(reinterpret_cast<const char*>(data), size),
                                                 "fuzz.bin");
    if (file->total_elements() > io::TorchCheckpoint::kMaxElementsPerByte * std::max<size_t>(size, 1))
      failure("torch_checkpoint: more elements than the bound per byte of the file");
    for (const auto& name : file->names()) {
      const auto info = file->info(name);
      const std::string raw = file->read_raw(name);
      if (raw.size() != size_t(info.numel()) * io::dtype_size(info.dtype))
        failure("torch_checkpoint: read_raw returned the wrong number of bytes");
      std::vector<float> values(size_t(info.numel()));
      try {
        file->read_f32(name, info.shape, values.data());
      } catch (const Error&) {
      }
    }
  });
}

// --- the state-dict unpickler alone (first byte: bit 0 selects the legacy persistent ids) ---
inline int torch_pickle(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool legacy = data[0] & 1;
  return guarded("torch_pickle", [&] {
    const std::string_view pickle(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto sd = io::parse_state_dict_pickle(pickle, "fuzz.pkl", size, legacy);
    for (const auto& t : sd.tensors) {
      if (t.storage >= sd.storages.size()) failure("torch_pickle: a tensor of no storage");
      const auto& st = sd.storages[t.storage];
      if (t.numel > st.numel || st.numel * io::dtype_size(st.dtype) > size)
        failure("torch_pickle: a tensor or storage beyond the input's size");
      uint64_t last = t.offset;
      for (size_t d = 0; d < t.shape.size(); ++d)
        if (t.shape[d] > 0) last += uint64_t(t.shape[d] - 1) * uint64_t(t.stride[d]);
      if (t.numel > 0 && last >= st.numel) failure("torch_pickle: a view outside its storage");
    }
  });
}

// --- a checkpoint directory: config.json + model.safetensors, loaded natively and imported as
// the t5 and llama reference layouts (selected by the first byte) ---------------------------
inline int checkpoint(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 3;
  return guarded("checkpoint", [&] {
    const std::string dir = write_input_files(data + 1, size - 1, {"config.json", "model.safetensors"});
    std::unique_ptr<Transformer> model;
    if (mode == 0) model = load_model(dir);
    else model = import_checkpoint(mode == 1 ? CheckpointFormat::T5 : CheckpointFormat::Llama, dir);
    // Loaded weights come from the file, so the model is no larger than the input.
    if (model->num_parameters() > size) failure("checkpoint: a model larger than its file");
    if (model->config().vocab_size >= 4 && model->num_parameters() < 200000) {
      Workspace ws(*model);
      (void)score(*model, make_batch({{1, 2, 3}}, 0), ws);
    }
  });
}

// --- configs: run config JSON, Jsonnet, --set values, model configs ----------------------------
// Jsonnet is a programming language: a short text can ask for unbounded time or memory
// (std.range(0, 1e9), exponential recursion), which says nothing about lengen's handling of
// its result. Such texts are skipped: no function calls, no formatting, no long numbers.
inline bool jsonnet_is_bounded(std::string_view text) {
  if (text.find('(') != std::string_view::npos || text.find('%') != std::string_view::npos ||
      text.find("std") != std::string_view::npos || text.find("import") != std::string_view::npos ||
      text.find('\\') != std::string_view::npos || text.find("for") != std::string_view::npos)
    return false;
  size_t digits = 0;
  for (char c : text) {
    digits = (c >= '0' && c <= '9') ? digits + 1 : 0;
    if (digits > 6) return false;
  }
  return true;
}

// A run config as `lengen train` resolves it, then the model config it yields, built under a
// small parameter budget (a config may legitimately ask for a big model; here only the layout
// is wanted).
inline void use_run_config(const nlohmann::json& j) {
  RunConfig rc = RunConfig::from_json(j, "fuzz.json");
  nlohmann::json model = rc.model;
  if (!model.contains("vocab_size")) model["vocab_size"] = 16;
  const ModelConfig mc = ModelConfig::from_json(model, "fuzz.json: model");
  (void)rc.to_json();
  (void)mc.to_json();
  const ParameterBudget budget(1 << 16, "fuzz budget");
  Transformer t(mc);
  (void)t.num_parameters();
}

inline int config(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 4;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  return guarded("config", [&] {
    if (mode == 0) {  // a JSON run config file
      use_run_config(parse_json_text(text, "fuzz.json"));
    } else if (mode == 1) {  // --set assignments, one per line, over a valid base
      nlohmann::json j = {{"data", {{"task", "copy"}}}, {"model", {{"pe", "rotary"}}}};
      size_t start = 0;
      while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        apply_override(j, text.substr(start, end - start));
        start = end + 1;
      }
      use_run_config(j);
    } else if (mode == 2) {  // a Jsonnet config
      if (!jsonnet_is_bounded(text)) return;
      use_run_config(evaluate_jsonnet_snippet(text, "fuzz.jsonnet"));
    } else {  // a checkpoint's config.json (model keys at the top level or under "model")
      const nlohmann::json j = parse_json_text(text, "config.json");
      const ModelConfig mc = ModelConfig::from_json(
          j.is_object() && j.contains("model") ? j["model"] : j, "config.json");
      const ParameterBudget budget(1 << 16, "fuzz budget");
      Transformer t(mc);
    }
  });
}

// --- dataset JSONL -----------------------------------------------------------------------------
inline int jsonl(const uint8_t* data, size_t size) {
  return guarded("jsonl", [&] {
    const std::string path = scratch_dir() + "/train.jsonl";
    write_bytes(path, std::string(reinterpret_cast<const char*>(data), size));
    const auto examples = data::read_jsonl(path);
    for (const auto& e : examples)
      if (e.length < 0) failure("jsonl: a negative length");
    (void)data::examples_to_jsonl(examples);
  });
}

// --- a dataset directory: train.jsonl, vocab.json, dataset.json --------------------------------
inline int dataset_dir(const uint8_t* data, size_t size) {
  return guarded("dataset_dir", [&] {
    const auto loaded = data::load_dataset_dir(
        write_input_files(data, size, {"train.jsonl", "vocab.json", "dataset.json"}));
    for (const auto& e : loaded.data.train) {
      std::vector<data::UnknownWord> unknown;
      const auto ids = loaded.vocab.encode(e.source, unknown);
      (void)loaded.vocab.decode(ids, true);
    }
    (void)loaded.vocab.to_json_string();
    if (loaded.info) (void)loaded.info->to_json();
  });
}

// --- token files: text (score --tokens-file, train-lm) and binary int32 (LM data) ------------
inline int token_file(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool binary = data[0] & 1;
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  return guarded("token_file", [&] {
    const std::string path = scratch_dir() + "/tokens";
    write_bytes(path, bytes);
    if (binary) {
      lm::TokenFile f(path);
      f.check_vocabulary(1000);
    } else {
      for (const auto& line : read_token_lines(path))
        for (int32_t id : line)
          if (id < 0) failure("token_file: a negative id");
      (void)parse_token_list(bytes, "--tokens");
    }
  });
}

// --- sweep files -------------------------------------------------------------------------------
inline int sweep(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool jsonnet = data[0] & 1;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  return guarded("sweep", [&] {
    nlohmann::json j;
    if (jsonnet) {
      if (!jsonnet_is_bounded(text)) return;
      j = evaluate_jsonnet_snippet(text, "fuzz.jsonnet");
    } else {
      j = parse_json_text(text, "fuzz.json");
    }
    const auto s = sweep::parse_sweep(j, "fuzz.json");
    const auto runs = sweep::expand_grid(s);
    for (size_t i = 0; i < runs.size() && i < 4; ++i) {
      const nlohmann::json rc = sweep::run_config_json(s, runs[i]);
      (void)RunConfig::from_json(rc, runs[i].name);
    }
  });
}

// --- SentencePiece tokenizer models ----------------------------------------------------------
// The language-model tokenizer and the task tokenizer of data.tokenizer (the paper's t5-base
// spiece.model, a user-downloaded file).
inline int sentencepiece(const uint8_t* data, size_t size) {
  return guarded("sentencepiece", [&] {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
      const auto task_tok = data::SentencePieceTokenizer::from_bytes(bytes, "spiece.model", "[SEP] ");
      auto ids = task_tok->encode_prompt("Solve: append A1 B2 , C3");
      for (int32_t id : ids)
        if (id < 0 || size_t(id) >= task_tok->vocab_size()) failure("sentencepiece: a prompt id outside the vocabulary");
      ids.push_back(task_tok->eos_id());
      (void)task_tok->decode(ids);
      (void)task_tok->encode_answer("The answer is 6 .");
    } catch (const Error&) {
    }
    const auto tok = lm::Tokenizer::from_bytes(bytes, "tokenizer.model");
    const auto ids = tok.encode("def f(x):\n    return x + 1.  Hello, world");
    (void)tok.decode(ids);
    for (int32_t id : ids)
      if (id < 0 || id >= tok.vocab_size()) failure("sentencepiece: an id outside the vocabulary");
    try {
      (void)tok.default_delimiters();
    } catch (const Error&) {
    }
    (void)tok.resolve_delimiters({"<0x0A>", "7", "99999999999"});
  });
}

// --- attention captures: attention.json + attention.safetensors -------------------------------
inline int attention_capture(const uint8_t* data, size_t size) {
  return guarded("attention_capture", [&] {
    const auto c = analysis::load_capture(
        write_input_files(data, size, {"attention.json", "attention.safetensors"}));
    for (const auto& x : c.examples)
      for (int l = 0; l < c.n_layers; ++l)
        for (int h = 0; h < c.n_heads; ++h)
          for (int q = 0; q < x.T(); ++q) (void)x.row(l, h, c.n_heads, q);
  });
}

// Name -> target, for the replaying test and the driver.
inline const std::map<std::string, int (*)(const uint8_t*, size_t)>& targets() {
  static const std::map<std::string, int (*)(const uint8_t*, size_t)> t = {
      {"safetensors", safetensors}, {"checkpoint", checkpoint},   {"config", config},
      {"jsonl", jsonl},             {"dataset_dir", dataset_dir}, {"token_file", token_file},
      {"sweep", sweep},             {"sentencepiece", sentencepiece},
      {"attention_capture", attention_capture}, {"torch_checkpoint", torch_checkpoint},
      {"torch_pickle", torch_pickle}};
  return t;
}

}  // namespace lengen::fuzz
