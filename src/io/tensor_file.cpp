#include "io/tensor_file.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/ranges.h>

#include "io/atomic_file.h"
#include "io/dtype.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace fs = std::filesystem;

namespace lengen::io {

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void TensorFile::read_f32(const std::string& name, const std::vector<int64_t>& expected_shape,
                          float* dst) const {
  const TensorInfo t = info(name);
  if (t.shape != expected_shape)
    fail("{}: tensor '{}' has shape [{}], expected [{}]", origin(), name,
         fmt::join(t.shape, ", "), fmt::join(expected_shape, ", "));
  if (!is_float_dtype(t.dtype))  // before reading its bytes
    fail("{}: tensor '{}' has dtype {}, expected a floating-point dtype", origin(), name, t.dtype);
  const std::string raw = read_raw(name);
  convert_to_f32(t.dtype, raw.data(), t.numel(), dst, origin(), name);
}

namespace {

// SafetensorsFile through the TensorFile interface.
class SafetensorsTensorFile : public TensorFile {
 public:
  explicit SafetensorsTensorFile(SafetensorsFile f) : f_(std::move(f)) {}
  bool has(const std::string& name) const override { return f_.has(name); }
  TensorInfo info(const std::string& name) const override {
    const SafeTensor& t = f_.info(name);
    return {t.dtype, t.shape};
  }
  std::string read_raw(const std::string& name) const override { return std::string(f_.bytes(name)); }
  void read_f32(const std::string& name, const std::vector<int64_t>& expected_shape,
                float* dst) const override {
    f_.read_f32(name, expected_shape, dst);
  }
  std::vector<std::string> names() const override { return f_.names(); }
  uint64_t total_elements() const override { return f_.total_elements(); }
  std::string origin() const override { return f_.origin(); }

 private:
  SafetensorsFile f_;
};

// Shards: each tensor read from the one file that holds it.
class ShardedTensorFile : public TensorFile {
 public:
  ShardedTensorFile(std::string index, std::vector<std::unique_ptr<TensorFile>> shards,
                    std::map<std::string, size_t> where)
      : index_(std::move(index)), shards_(std::move(shards)), where_(std::move(where)) {
    for (const auto& s : shards_) total_ += s->total_elements();
  }
  bool has(const std::string& name) const override { return where_.count(name) != 0; }
  TensorInfo info(const std::string& name) const override { return shard(name).info(name); }
  std::string read_raw(const std::string& name) const override { return shard(name).read_raw(name); }
  void read_f32(const std::string& name, const std::vector<int64_t>& expected_shape,
                float* dst) const override {
    shard(name).read_f32(name, expected_shape, dst);
  }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& [name, s] : where_) out.push_back(name);
    return out;
  }
  uint64_t total_elements() const override { return total_; }
  std::string origin() const override { return index_; }

 private:
  const TensorFile& shard(const std::string& name) const {
    const auto it = where_.find(name);
    if (it == where_.end()) fail("{}: missing tensor '{}'", index_, name);
    return *shards_[it->second];
  }
  std::string index_;
  std::vector<std::unique_ptr<TensorFile>> shards_;
  std::map<std::string, size_t> where_;
  uint64_t total_ = 0;
};

enum class Kind { Safetensors, Torch, Index };

Kind sniff(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {}", path);
  char head[9] = {};
  in.read(head, 9);
  const size_t n = size_t(in.gcount());
  if (n >= 2 && head[0] == 'P' && head[1] == 'K') return Kind::Torch;
  if (n >= 9 && head[8] == '{') return Kind::Safetensors;  // after its 8-byte header length
  if (n >= 4 && uint8_t(head[0]) == 0x80 && head[1] == 2 && uint8_t(head[2]) == 0x8a &&
      head[3] == 0x0a)
    return Kind::Torch;  // the legacy format's magic number pickle
  size_t k = 0;
  while (k < n && (head[k] == ' ' || head[k] == '\n' || head[k] == '\r' || head[k] == '\t')) ++k;
  if (k < n && head[k] == '{') return Kind::Index;
  fail("{}: neither safetensors, a torch.save file nor a JSON index of shards", path);
}

std::unique_ptr<TensorFile> open_file(const std::string& path, bool allow_index) {
  switch (sniff(path)) {
    case Kind::Safetensors:
      return std::make_unique<SafetensorsTensorFile>(SafetensorsFile::load(path));
    case Kind::Torch:
      return TorchCheckpoint::load(path);
    case Kind::Index:
      if (!allow_index) fail("{}: a shard that is itself an index", path);
      return open_sharded(path);
  }
  fail("{}: unknown file kind", path);
}

}  // namespace

std::unique_ptr<TensorFile> open_tensor_file(const std::string& path) { return open_file(path, true); }

std::unique_ptr<TensorFile> open_sharded(const std::string& index_path) {
  const nlohmann::json j = parse_json_text(read_file(index_path), index_path);
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    fail("{}: a shard index needs an object \"weight_map\": {{tensor: shard file}}", index_path);
  const fs::path dir = fs::path(index_path).parent_path();
  std::map<std::string, std::string> mapped;  // tensor -> shard
  std::map<std::string, size_t> shard_index;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string())
      fail("{}: weight_map['{}'] must be a shard file name", index_path, it.key());
    const std::string shard = it.value().get<std::string>();
    const fs::path p(shard);
    bool inside = !shard.empty() && p.is_relative() && !p.has_root_name();
    for (const auto& part : p)
      if (part == ".." || part == ".") inside = false;
    if (!inside)
      fail("{}: shard '{}' (of tensor '{}') is not a file name inside the index's directory",
           index_path, shard, it.key());
    mapped[it.key()] = shard;
    shard_index.emplace(shard, 0);
  }
  std::vector<std::unique_ptr<TensorFile>> shards;
  std::vector<std::string> shard_names;
  for (auto& [shard, index] : shard_index) {
    const std::string path = (dir / shard).string();
    if (!fs::is_regular_file(path))
      fail("{}: shard '{}' does not exist ({})", index_path, shard, path);
    index = shards.size();
    shards.push_back(open_file(path, false));
    shard_names.push_back(shard);
  }
  std::map<std::string, size_t> where;
  for (size_t s = 0; s < shards.size(); ++s)
    for (const auto& name : shards[s]->names()) {
      const auto [it, added] = where.emplace(name, s);
      if (!added)
        fail("{}: tensor '{}' is in two shards, '{}' and '{}'", index_path, name,
             shard_names[it->second], shard_names[s]);
    }
  for (const auto& [name, shard] : mapped) {
    const auto it = where.find(name);
    if (it == where.end() || shard_names[it->second] != shard)
      fail("{}: tensor '{}' is mapped to shard '{}', which does not hold it", index_path, name,
           shard);
  }
  return std::make_unique<ShardedTensorFile>(index_path, std::move(shards), std::move(where));
}

const std::vector<std::string>& checkpoint_weight_files() {
  static const std::vector<std::string> names = {"model.safetensors", "model.safetensors.index.json",
                                                 "pytorch_model.bin", "pytorch_model.bin.index.json"};
  return names;
}

std::unique_ptr<TensorFile> open_checkpoint_weights(const std::string& dir) {
  if (!fs::is_directory(dir)) fail("{}: not a checkpoint directory", dir);
  for (const auto& name : checkpoint_weight_files()) {
    const std::string path = (fs::path(dir) / name).string();
    if (!fs::exists(path)) continue;
    if (name.ends_with(".index.json")) return open_sharded(path);
    return open_file(path, false);
  }
  fail("{}: no weights found: looked for {}", dir, fmt::join(checkpoint_weight_files(), ", "));
}

}  // namespace lengen::io
