// torch.save checkpoints read without Python (io/torch_checkpoint.h), the TensorFile interface
// over every weights format and sharded checkpoints (io/tensor_file.h). Pickles are built by
// hand here, in the shapes torch.save writes (protocol 2), so the refusals can be aimed at one
// field at a time; tests/python/test_torch_checkpoint.py reads files torch itself wrote.
#include <gtest/gtest.h>
#include <zip.h>

#include <cstring>
#include <limits>

#include "file_test_support.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "io/tensor_file.h"
#include "io/torch_checkpoint.h"

namespace {

using lengen::io::TorchCheckpoint;
using lengen::testing::error_of;
using lengen::testing::TempDir;

// Protocol-2 pickle text, opcode by opcode.
struct Pickle {
  std::string b = "\x80\x02";
  Pickle& op(char c) { b.push_back(c); return *this; }
  Pickle& global(const std::string& module, const std::string& name) {
    b += "c" + module + "\n" + name + "\n";
    return *this;
  }
  Pickle& str(const std::string& s) {
    b.push_back('X');
    for (int k = 0; k < 4; ++k) b.push_back(char((s.size() >> (8 * k)) & 0xff));
    b += s;
    return *this;
  }
  Pickle& integer(int64_t v) {  // LONG1 with 8 bytes: any int64
    b += "\x8a\x08";
    for (int k = 0; k < 8; ++k) b.push_back(char((uint64_t(v) >> (8 * k)) & 0xff));
    return *this;
  }
  Pickle& ints(const std::vector<int64_t>& v) {  // a tuple of ints
    op('(');
    for (int64_t x : v) integer(x);
    return op('t');
  }
  // _rebuild_tensor_v2(('storage', type, key, 'cpu', numel), offset, size, stride, False, {})
  Pickle& tensor(const std::string& type, const std::string& key, int64_t numel, int64_t offset,
                 const std::vector<int64_t>& size, const std::vector<int64_t>& stride) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", type).str(key).str("cpu").integer(numel).op('t');
    op('Q').integer(offset).ints(size).ints(stride).op('\x89');
    global("collections", "OrderedDict").op(')').op('R');
    return op('t').op('R');
  }
  Pickle& ordered_dict() { return global("collections", "OrderedDict").op(')').op('R'); }
  std::string done() { return b + "."; }
};

// A state dict: w = [[0,1,2],[3,4,5]] (F32, storage "0"), wt = its transpose (the same storage),
// row = its second row (offset 3), h = F16 [1, -2] (storage "1").
std::string state_dict_pickle() {
  Pickle p;
  p.ordered_dict().op('(');
  p.str("w").tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1});
  p.str("wt").tensor("FloatStorage", "0", 6, 0, {3, 2}, {1, 3});
  p.str("row").tensor("FloatStorage", "0", 6, 3, {3}, {1});
  p.str("h").tensor("HalfStorage", "1", 2, 0, {2}, {1});
  return p.op('u').done();
}

std::string f32_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

// A torch.save zip archive: archive/data.pkl, archive/byteorder, archive/data/<key>.
std::string write_torch_zip(const TempDir& dir, const std::string& name, const std::string& pickle,
                            const std::map<std::string, std::string>& storages,
                            const std::string& byteorder = "little") {
  const std::string path = dir.file(name);
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  EXPECT_NE(za, nullptr);
  std::vector<std::string> keep;  // buffers alive until zip_close
  keep.reserve(storages.size() + 3);
  auto add = [&](const std::string& entry, const std::string& content) {
    keep.push_back(content);
    zip_source_t* src = zip_source_buffer(za, keep.back().data(), keep.back().size(), 0);
    const zip_int64_t idx = zip_file_add(za, ("archive/" + entry).c_str(), src, ZIP_FL_OVERWRITE);
    EXPECT_GE(idx, 0);
    zip_set_file_compression(za, zip_uint64_t(idx), ZIP_CM_STORE, 0);
  };
  add("data.pkl", pickle);
  add("byteorder", byteorder);
  add("version", "3\n");
  for (const auto& [key, bytes] : storages) add("data/" + key, bytes);
  EXPECT_EQ(zip_close(za), 0);
  return path;
}

std::map<std::string, std::string> default_storages() {
  const uint16_t h[2] = {0x3C00, 0xC000};  // 1, -2
  return {{"0", f32_bytes({0, 1, 2, 3, 4, 5})}, {"1", std::string(reinterpret_cast<const char*>(h), 4)}};
}

std::string pickle_error(const std::string& pickle, uint64_t max_bytes = 1 << 20) {
  return error_of([&] { lengen::io::parse_state_dict_pickle(pickle, "t.pkl", max_bytes); });
}

TEST(TorchCheckpoint, ReadsViewsOfSharedStoragesAndConvertsDtypes) {
  TempDir dir;
  const std::string path = write_torch_zip(dir, "pytorch_model.bin", state_dict_pickle(), default_storages());
  for (const bool from_path : {true, false}) {
    const auto f = from_path ? lengen::io::open_tensor_file(path)
                             : std::unique_ptr<lengen::io::TensorFile>(
                                   TorchCheckpoint::parse(lengen::io::read_file(path), path));
    EXPECT_EQ(f->names(), (std::vector<std::string>{"h", "row", "w", "wt"}));
    EXPECT_EQ(f->info("wt").dtype, "F32");
    EXPECT_EQ(f->info("wt").shape, (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(f->total_elements(), 6u + 6u + 3u + 2u);
    std::vector<float> wt(6), row(3), h(2);
    f->read_f32("wt", {3, 2}, wt.data());
    EXPECT_EQ(wt, (std::vector<float>{0, 3, 1, 4, 2, 5}));
    f->read_f32("row", {3}, row.data());
    EXPECT_EQ(row, (std::vector<float>{3, 4, 5}));
    f->read_f32("h", {2}, h.data());
    EXPECT_EQ(h, (std::vector<float>{1, -2}));
    EXPECT_NE(error_of([&] { f->read_f32("w", {3, 2}, wt.data()); }).find("has shape [2, 3], expected [3, 2]"),
              std::string::npos);
    EXPECT_NE(error_of([&] { f->info("nope"); }).find("missing tensor 'nope'"), std::string::npos);
  }
}

TEST(TorchCheckpoint, RefusesForbiddenGlobalsNamingThem) {
  // What pickle writes for a __reduce__ returning (os.system, ("echo hi",)).
  Pickle p;
  p.global("posix", "system").op('(').str("echo hi").op('t').op('R');
  const std::string e = pickle_error(p.done());
  EXPECT_NE(e.find("forbidden global 'posix.system'"), std::string::npos) << e;
  EXPECT_NE(e.find("t.pkl"), std::string::npos) << e;
  Pickle q;
  q.op('}').str("x").global("builtins", "eval").op('s');
  EXPECT_NE(pickle_error(q.done()).find("forbidden global 'builtins.eval'"), std::string::npos);
  // A storage type is allowed as a persistent id's field, never as something to call.
  Pickle r;
  r.global("torch", "FloatStorage").op(')').op('R');
  EXPECT_NE(pickle_error(r.done()).find("cannot call a global torch.FloatStorage"), std::string::npos);
  // Inside a real archive, the error names the file too.
  TempDir dir;
  const std::string path = write_torch_zip(dir, "evil.bin", p.done(), {});
  const std::string z = error_of([&] { lengen::io::open_tensor_file(path); });
  EXPECT_NE(z.find("evil.bin"), std::string::npos) << z;
  EXPECT_NE(z.find("posix.system"), std::string::npos) << z;
}

TEST(TorchCheckpoint, RefusesUnknownOpcodesAndMalformedStacks) {
  EXPECT_NE(pickle_error(std::string("\x80\x02I1\n.")).find("unsupported pickle opcode 0x49 'I'"),
            std::string::npos);
  EXPECT_NE(pickle_error(std::string("\x80\x02\xff.")).find("unsupported pickle opcode 0xff"),
            std::string::npos);
  EXPECT_NE(pickle_error(std::string("\x80\x09}.")).find("protocol 9"), std::string::npos);
  EXPECT_NE(pickle_error(std::string("\x80\x02t.")).find("no MARK"), std::string::npos);
  EXPECT_NE(pickle_error(std::string("\x80\x02.")).find("stack underflow"), std::string::npos);
  EXPECT_NE(pickle_error(std::string("\x80\x02h\x05.")).find("memo index 5"), std::string::npos);
  EXPECT_NE(pickle_error(std::string("\x80\x02K\x01.")).find("of type int, not a state dict"),
            std::string::npos);
  // A list that contains itself (through the memo) is no state dict, and leaks nothing.
  Pickle list;
  list.op(']').op('q').op('\0').op('h').op('\0').op('a');
  EXPECT_NE(pickle_error(list.done()).find("of type list"), std::string::npos);
  // A dict holding itself is a nesting without end (refused by the depth or the work bound).
  Pickle self;
  self.op('}').op('q').op('\0').str("a").op('h').op('\0').op('s');
  EXPECT_NE(pickle_error(self.done()).find("dicts"), std::string::npos);
  // Dicts shared along 2^12 paths (each level holds the one below twice): walking them is
  // bounded by the pickle's size, not exponential.
  Pickle p;
  p.op('}').op('q').op('\0');
  for (int level = 1; level <= 12; ++level)
    p.op('0').op('}').op('(').str("a").op('h').op(char(level - 1)).str("b").op('h')
        .op(char(level - 1)).op('u').op('q').op(char(level));
  EXPECT_NE(pickle_error(p.done()).find("outnumber the pickle's bytes"), std::string::npos);
}

TEST(TorchCheckpoint, EveryTruncationIsAnError) {
  const std::string full = state_dict_pickle();
  EXPECT_NO_THROW(lengen::io::parse_state_dict_pickle(full, "t.pkl", 1 << 20));
  for (size_t n = 0; n < full.size(); ++n)
    EXPECT_THROW(lengen::io::parse_state_dict_pickle(full.substr(0, n), "t.pkl", 1 << 20),
                 lengen::Error)
        << n;
  // A string longer than what follows.
  EXPECT_NE(pickle_error(std::string("\x80\x02X\xff\xff\xff\x7f" "abc", 10)).find("truncated"),
            std::string::npos);
  // And so is a truncated archive.
  TempDir dir;
  const std::string path = write_torch_zip(dir, "m.bin", full, default_storages());
  const std::string bytes = lengen::io::read_file(path);
  for (size_t n : {size_t(0), size_t(10), bytes.size() / 2, bytes.size() - 1})
    EXPECT_THROW(TorchCheckpoint::parse(bytes.substr(0, n), "m.bin"), lengen::Error) << n;
}

TEST(TorchCheckpoint, RefusesViewsOutsideTheirStorage) {
  auto one = [](int64_t numel, int64_t offset, std::vector<int64_t> size, std::vector<int64_t> stride) {
    Pickle p;
    p.op('}').str("t").tensor("FloatStorage", "0", numel, offset, size, stride).op('s');
    return pickle_error(p.done());
  };
  EXPECT_NE(one(6, 4, {3}, {1}).find("reaches outside storage '0' of 6 elements"), std::string::npos);
  EXPECT_NE(one(6, 0, {2, 3}, {4, 1}).find("reaches outside"), std::string::npos);
  EXPECT_NE(one(6, 7, {0}, {1}).find("storage offset 7 outside"), std::string::npos);
  EXPECT_NE(one(6, -1, {1}, {1}).find("storage offset -1"), std::string::npos);
  EXPECT_NE(one(6, 0, {-1}, {1}).find("out of range"), std::string::npos);
  EXPECT_NE(one(6, 0, {2, 3}, {1}).find("same length"), std::string::npos);
  EXPECT_NE(one(6, 0, {8}, {0}).find("overlapping strides"), std::string::npos);  // an expand()
  // Overflow: sizes whose product or extent wraps 64 bits.
  const int64_t big = int64_t(1) << 40;
  EXPECT_NE(one(6, 0, {big, big}, {0, 0}).find("too large"), std::string::npos);
  EXPECT_NE(one(6, 0, {2}, {std::numeric_limits<int64_t>::max()}).find("out of range"), std::string::npos);
  EXPECT_NE(one(6, 0, {big}, {big}).find("beyond any storage"), std::string::npos);
  // A storage claiming more bytes than the file has.
  EXPECT_NE(one(int64_t(1) << 30, 0, {1}, {1}).find("more than the file's"), std::string::npos);
  EXPECT_NE(one(std::numeric_limits<int64_t>::max(), 0, {1}, {1}).find("more than the file's"),
            std::string::npos);
  // One storage key declared with two types.
  Pickle p;
  p.op('}').op('(').str("a").tensor("FloatStorage", "0", 6, 0, {1}, {1});
  p.str("b").tensor("HalfStorage", "0", 6, 0, {1}, {1}).op('u');
  EXPECT_NE(pickle_error(p.done()).find("declared twice differently"), std::string::npos);
  // Storage keys are plain names (they become archive entry names).
  Pickle q;
  q.op('}').str("t").tensor("FloatStorage", "../0", 6, 0, {1}, {1}).op('s');
  EXPECT_NE(pickle_error(q.done()).find("not a plain name"), std::string::npos);
}

TEST(TorchCheckpoint, ChecksStorageEntriesAgainstThePickle) {
  TempDir dir;
  auto storages = default_storages();
  storages["0"].resize(20);  // 5 floats for a storage of 6
  const std::string short_entry = write_torch_zip(dir, "a.bin", state_dict_pickle(), storages);
  EXPECT_NE(error_of([&] { TorchCheckpoint::load(short_entry); }).find("holds 20 bytes, its 6 elements of F32 need 24"),
            std::string::npos);
  storages = default_storages();
  storages.erase("1");
  const std::string missing = write_torch_zip(dir, "b.bin", state_dict_pickle(), storages);
  EXPECT_NE(error_of([&] { TorchCheckpoint::load(missing); }).find("no entry archive/data/1"),
            std::string::npos);
  const std::string big = write_torch_zip(dir, "c.bin", state_dict_pickle(), default_storages(), "big");
  EXPECT_NE(error_of([&] { TorchCheckpoint::load(big); }).find("little-endian"), std::string::npos);
  // Non-finite values are errors for read_f32 (naming the tensor and index), data for read_raw.
  storages = default_storages();
  const float inf = std::numeric_limits<float>::infinity();
  storages["0"] = f32_bytes({0, 1, 2, 3, inf, 5});
  const auto f = lengen::io::open_tensor_file(write_torch_zip(dir, "d.bin", state_dict_pickle(), storages));
  std::vector<float> row(3);
  EXPECT_NE(error_of([&] { f->read_f32("row", {3}, row.data()); }).find("tensor 'row' holds a non-finite value (inf) at index 1"),
            std::string::npos);
  EXPECT_EQ(f->read_raw("row").size(), 12u);
}

TEST(TorchCheckpoint, RefusesTheLegacyFormatOnlyWhenBroken) {
  // The legacy magic number followed by garbage.
  const std::string legacy("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e" "garbage", 22);
  EXPECT_THROW(TorchCheckpoint::parse(legacy, "old.bin"), lengen::Error);
  EXPECT_NE(error_of([&] { TorchCheckpoint::parse("hello", "x.bin"); }).find("not a torch.save file"),
            std::string::npos);
}

TEST(TensorFile, ShardedCheckpointsAndTheirRefusals) {
  TempDir dir;
  const float a[2] = {1, 2}, b[3] = {3, 4, 5};
  lengen::io::save_safetensors(dir.file("s1.safetensors"), {{"a", {2}, a}});
  write_torch_zip(dir, "s2.bin", state_dict_pickle(), default_storages());
  lengen::io::save_safetensors(dir.file("s3.safetensors"), {{"b", {3}, b}});
  dir.write("model.safetensors.index.json",
            R"({"metadata": {"total_size": 20}, "weight_map": {"a": "s1.safetensors", "w": "s2.bin",
                "wt": "s2.bin", "row": "s2.bin", "h": "s2.bin", "b": "s3.safetensors"}})");
  const auto f = lengen::io::open_checkpoint_weights(dir.path().string());
  EXPECT_EQ(f->names(), (std::vector<std::string>{"a", "b", "h", "row", "w", "wt"}));
  EXPECT_EQ(f->total_elements(), 2u + 3u + 17u);
  std::vector<float> got(3);
  f->read_f32("b", {3}, got.data());
  EXPECT_EQ(got, (std::vector<float>{3, 4, 5}));
  f->read_f32("row", {3}, got.data());
  EXPECT_EQ(got, (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(f->origin(), dir.file("model.safetensors.index.json"));

  auto index_error = [&](const std::string& weight_map) {
    const std::string path = dir.write("bad.index.json", R"({"weight_map": )" + weight_map + "}");
    return error_of([&] { lengen::io::open_tensor_file(path); });
  };
  EXPECT_NE(index_error(R"({"a": "../s1.safetensors"})").find("not a file name inside"), std::string::npos);
  EXPECT_NE(index_error(R"({"a": "/etc/passwd"})").find("not a file name inside"), std::string::npos);
  EXPECT_NE(index_error(R"({"a": "sub/../s1.safetensors"})").find("not a file name inside"), std::string::npos);
  EXPECT_NE(index_error(R"({"a": "nope.bin"})").find("shard 'nope.bin' does not exist"), std::string::npos);
  EXPECT_NE(index_error(R"({"a": "s3.safetensors"})").find("mapped to shard 's3.safetensors', which does not hold it"),
            std::string::npos);
  EXPECT_NE(index_error(R"({"a": 3})").find("must be a shard file name"), std::string::npos);
  EXPECT_NE(index_error(R"({"a": "bad.index.json"})").find("itself an index"), std::string::npos);
  lengen::io::save_safetensors(dir.file("dup.safetensors"), {{"a", {2}, a}});
  EXPECT_NE(index_error(R"({"a": "s1.safetensors", "x": "dup.safetensors"})").find("tensor 'a' is in two shards"),
            std::string::npos);
}

TEST(TensorFile, CheckpointDirectoriesListWhatWasLookedFor) {
  TempDir dir;
  const std::string e = error_of([&] { lengen::io::open_checkpoint_weights(dir.path().string()); });
  EXPECT_NE(e.find("model.safetensors, model.safetensors.index.json, pytorch_model.bin, "
                   "pytorch_model.bin.index.json"),
            std::string::npos)
      << e;
  // pytorch_model.bin is found; model.safetensors comes first when both are there.
  write_torch_zip(dir, "pytorch_model.bin", state_dict_pickle(), default_storages());
  EXPECT_EQ(lengen::io::open_checkpoint_weights(dir.path().string())->names().size(), 4u);
  const float a[1] = {7};
  lengen::io::save_safetensors(dir.file("model.safetensors"), {{"only", {1}, a}});
  EXPECT_EQ(lengen::io::open_checkpoint_weights(dir.path().string())->names(),
            std::vector<std::string>{"only"});
}

}  // namespace
