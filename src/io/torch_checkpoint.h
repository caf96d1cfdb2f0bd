// torch.save files without Python: the zip format of torch >= 1.6 ("<archive>/data.pkl",
// "<archive>/data/<key>", "<archive>/byteorder", read with libzip) and the legacy format (a
// magic number, protocol and system-info pickles, the object's pickle, the storage keys, then
// each storage as an int64 element count and its bytes).
//
// The object's pickle is read by a restricted unpickler that executes nothing: it knows only
// the opcodes a state dict uses and only the globals that rebuild tensors
// (torch._utils._rebuild_tensor_v2, _rebuild_tensor, _rebuild_parameter, the torch.*Storage
// types, collections.OrderedDict); any other global ("posix.system", "builtins.eval") or
// opcode is an error naming it and the file. Every length, count, offset and stride is checked
// against the bytes present (with overflow checks) before it is used; nothing is allocated
// beyond a small multiple of the input's size.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "io/tensor_file.h"

namespace lengen::io {

// What a state dict's pickle says, before any storage is read.
struct TorchStorageRef {
  std::string key;     // the zip's "data/<key>" (the legacy format's storage key)
  std::string dtype;   // from the storage type: FloatStorage -> "F32", ...
  uint64_t numel = 0;  // elements of the storage
};
struct TorchTensorRef {
  std::string name;  // state-dict key; nested dicts are joined with '.'
  size_t storage = 0;  // index into TorchStateDict::storages
  uint64_t offset = 0;  // storage offset, in elements
  std::vector<int64_t> shape, stride;
  uint64_t numel = 0;
};
struct TorchStateDict {
  std::vector<TorchStorageRef> storages;
  std::vector<TorchTensorRef> tensors;  // sorted by name, names unique
};

// Unpickles a state dict (a dict, possibly an OrderedDict, of tensors; nested dicts flattened
// with '.', values other than tensors and dicts skipped). `max_bytes` bounds every storage's
// size (its file's size). With `legacy`, storages' persistent ids have the legacy format's six
// fields. `consumed` (optional) receives the bytes up to and including the STOP opcode.
// Throws lengen::Error("<origin>: ...").
TorchStateDict parse_state_dict_pickle(std::string_view pickle, const std::string& origin,
                                       uint64_t max_bytes, bool legacy = false,
                                       size_t* consumed = nullptr);

struct ZipHandle;

class TorchCheckpoint : public TensorFile {
 public:
  static std::unique_ptr<TorchCheckpoint> load(const std::string& path);
  static std::unique_ptr<TorchCheckpoint> parse(std::string bytes, const std::string& origin);
  ~TorchCheckpoint() override;

  bool has(const std::string& name) const override { return tensors_.count(name) != 0; }
  TensorInfo info(const std::string& name) const override;
  std::string read_raw(const std::string& name) const override;
  std::vector<std::string> names() const override;
  // Every tensor has at most as many elements as its storage, every storage's bytes are in the
  // file, and the total is refused beyond kMaxElementsPerByte elements per file byte (views of
  // one shared storage, such as tied embeddings, count once each).
  uint64_t total_elements() const override { return total_elements_; }
  std::string origin() const override { return origin_; }

  static constexpr uint64_t kMaxElementsPerByte = 8;

 private:
  TorchCheckpoint() = default;
  void open_zip(const std::string& path, const std::string* bytes);
  void open_legacy();
  void index_tensors(TorchStateDict sd);
  std::string storage_bytes(size_t storage) const;

  std::string origin_;
  uint64_t file_size_ = 0;
  std::string bytes_;  // the whole file (parse(), and the legacy format)
  std::unique_ptr<ZipHandle> zip_;
  mutable std::mutex zip_mutex_;  // a libzip archive is used by one thread at a time
  std::vector<TorchStorageRef> storages_;
  std::vector<int64_t> storage_entry_;    // zip entry index of each storage
  std::vector<size_t> storage_offset_;    // legacy: byte offset of each storage's data in bytes_
  std::map<std::string, TorchTensorRef> tensors_;
  uint64_t total_elements_ = 0;
};

}  // namespace lengen::io
