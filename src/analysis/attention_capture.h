// Attention capture (SPEC section 5): a teacher-forced pass of a run's checkpoint over the first
// N examples of each length of a split, keeping every layer's and head's attention rows, with
// the token regions of each sequence. Stored in a capture directory:
//   attention.safetensors  one F32 tensor per example, "example.<k>" [L, H, T(T+1)/2]: the
//                          causal rows packed, row i (keys 0..i) at offset i(i+1)/2
//   attention.json         what was captured (run, checkpoint, encoding, task, split, seeds,
//                          L, H) and per example: tensor name, index in the split file, length,
//                          token ids, words, regions {prompt, separator, scratchpad, answer} as
//                          [begin, end) token ranges
// The sequence is <bos> source <sep> [scratchpad] target <eos>: prompt = <bos> source,
// separator = <sep>, scratchpad (empty when absent), answer = target <eos>.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lengen::analysis {

struct TokenRange {
  int begin = 0, end = 0;  // [begin, end)
  int size() const { return end - begin; }
};

struct Regions {
  TokenRange prompt, separator, scratchpad, answer;
  nlohmann::json to_json() const;
  static Regions from_json(const nlohmann::json& j, const std::string& where);
};

struct CapturedExample {
  int index = 0;   // position in the split's file
  int length = 0;  // the task's length n
  std::vector<int32_t> tokens;
  std::vector<std::string> words;
  Regions regions;
  std::vector<float> probs;  // [L, H, T(T+1)/2], rows packed (see above)

  int T() const { return int(tokens.size()); }
  static size_t packed_size(int T) { return size_t(T) * size_t(T + 1) / 2; }
  // Weights of query i over keys 0..i in layer l, head h of a model with `heads` heads.
  std::span<const float> row(int l, int h, int heads, int i) const {
    return {probs.data() + (size_t(l) * heads + h) * packed_size(T()) + size_t(i) * (i + 1) / 2,
            size_t(i) + 1};
  }
};

struct AttentionCapture {
  nlohmann::json info;  // run, checkpoint, encoding, task, data_split, data_seed, train_seed, split
  int n_layers = 0, n_heads = 0;
  std::vector<CapturedExample> examples;  // by length, then file order
  std::string encoding() const { return info.value("encoding", "?"); }
};

struct CaptureRequest {
  std::string run_dir;
  std::string split = "test";  // train, validation or test
  int per_length = 10;         // first N examples of each length
  std::string checkpoint;      // "" = <run>/best (else <run>/checkpoint), or a directory
  bool quiet = false;
};

AttentionCapture capture_attention(const CaptureRequest& request);

// Default capture directory of a run and split: <run>/analysis/attention/<split>.
std::string capture_dir(const std::string& run_dir, const std::string& split);
// Both files written atomically; load validates every tensor against attention.json.
void save_capture(const AttentionCapture& capture, const std::string& dir);
AttentionCapture load_capture(const std::string& dir);

// The capture of `request`: loaded from capture_dir when it holds one made with the same split,
// checkpoint and per-length count, else captured and saved there.
AttentionCapture capture_or_load(const CaptureRequest& request);

}  // namespace lengen::analysis
