// One checkpoint's tensors, whatever the file format: safetensors (io/safetensors.h), torch.save
// files (io/torch_checkpoint.h: the zip format of torch >= 1.6 and the legacy one), and sharded
// checkpoints whose *.index.json maps each tensor to one shard file of either format.
// Every reader validates what it reads (errors name the file and the tensor) and bounds its
// allocations by the size of the files it reads.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lengen::io {

struct TensorInfo {
  std::string dtype;  // "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"
  std::vector<int64_t> shape;
  int64_t numel() const;
};

class TensorFile {
 public:
  virtual ~TensorFile() = default;
  virtual bool has(const std::string& name) const = 0;
  // Throws lengen::Error naming the tensor and the file when there is no such tensor.
  virtual TensorInfo info(const std::string& name) const = 0;
  // The tensor's elements, row-major and contiguous, as raw little-endian bytes of its dtype
  // (numel * dtype_size bytes): views of a shared storage and strided views are gathered.
  virtual std::string read_raw(const std::string& name) const = 0;
  // Copies tensor `name` into dst as fp32 (F32 as is; F16/BF16/F64 converted) after checking
  // that its shape equals `expected_shape`; a NaN or infinite value is an error naming the
  // tensor and the index (SafetensorsFile::read_f32's contract).
  virtual void read_f32(const std::string& name, const std::vector<int64_t>& expected_shape,
                        float* dst) const;
  virtual std::vector<std::string> names() const = 0;  // sorted
  // Elements of all tensors together: bounded by the files' sizes (see each format), so a
  // model no larger than this can be allocated safely.
  virtual uint64_t total_elements() const = 0;
  virtual std::string origin() const = 0;  // the path (the index file for a sharded checkpoint)
};

// A file recognised by its content: safetensors, a torch.save file (zip or legacy format), or
// a *.index.json of shards (whose shard files sit beside it).
std::unique_ptr<TensorFile> open_tensor_file(const std::string& path);

// The names open_checkpoint_weights looks for, in order.
const std::vector<std::string>& checkpoint_weight_files();

// A checkpoint directory's weights: the first of model.safetensors,
// model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json found; an error
// listing what was looked for when there is none.
std::unique_ptr<TensorFile> open_checkpoint_weights(const std::string& dir);

// A sharded checkpoint: `index_path` is {"metadata": {...}, "weight_map": {tensor: shard}}.
// Shard names are relative paths inside the index's directory (no "..", not absolute); every
// shard must exist, hold the tensors mapped to it, and no tensor may be in two shards.
std::unique_ptr<TensorFile> open_sharded(const std::string& index_path);

}  // namespace lengen::io
