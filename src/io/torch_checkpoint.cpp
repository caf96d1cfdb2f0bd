#include "io/torch_checkpoint.h"

#include <zip.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <unordered_map>

#include "io/atomic_file.h"
#include "io/dtype.h"
#include "util/error.h"

namespace lengen::io {

namespace {

// --- the restricted unpickler -------------------------------------------------------------

// A value on the unpickler's stack. Objects live in an arena owned by the unpickler (memo and
// containers hold plain pointers, so a pickle that builds a cycle leaks nothing).
struct Obj {
  enum Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor } kind = None;
  int64_t i = 0;         // Bool, Int; Storage: index into the storage table
  double f = 0;          // Float
  std::string s;         // Str; Global: "module.name"
  std::vector<Obj*> items;  // Tuple, List; Dict: key, value, key, value...
  TorchTensorRef tensor;    // Tensor (name unset)
};

const char* kind_name(Obj::Kind k) {
  static const char* names[] = {"None", "bool", "int", "float", "str", "tuple", "list",
                                "dict", "global", "storage", "tensor"};
  return names[k];
}

// The globals a state dict needs. Storage types map to their dtype.
const std::map<std::string, std::string>& storage_types() {
  static const std::map<std::string, std::string> t = {
      {"torch.FloatStorage", "F32"},  {"torch.HalfStorage", "F16"},
      {"torch.BFloat16Storage", "BF16"}, {"torch.DoubleStorage", "F64"},
      {"torch.LongStorage", "I64"},   {"torch.IntStorage", "I32"},
      {"torch.ShortStorage", "I16"},  {"torch.CharStorage", "I8"},
      {"torch.ByteStorage", "U8"},    {"torch.BoolStorage", "BOOL"},
      {"torch.UntypedStorage", "U8"}, {"torch.storage.UntypedStorage", "U8"}};
  return t;
}
bool allowed_callable(const std::string& g) {
  return g == "collections.OrderedDict" || g == "torch._utils._rebuild_tensor_v2" ||
         g == "torch._utils._rebuild_tensor" || g == "torch._utils._rebuild_parameter";
}

constexpr size_t kMaxDims = 64;
constexpr int kMaxNesting = 16;
constexpr uint64_t kMaxIndex = uint64_t(1) << 62;

class Unpickler {
 public:
  Unpickler(std::string_view data, const std::string& origin, uint64_t max_bytes, bool legacy)
      : d_(data), origin_(origin), max_bytes_(max_bytes), legacy_(legacy) {}

  Obj* run();  // returns the unpickled object
  size_t position() const { return pos_; }
  std::vector<TorchStorageRef> storages;

 private:
  template <typename... Args>
  [[noreturn]] void error(fmt::format_string<Args...> f, Args&&... args) const {
    fail("{}: pickle byte {}: {}", origin_, op_pos_, fmt::format(f, std::forward<Args>(args)...));
  }
  const char* take(size_t n) {
    if (n > d_.size() - pos_) error("truncated: {} more bytes needed, {} left", n, d_.size() - pos_);
    const char* p = d_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint64_t read_le(size_t n) {
    const char* p = take(n);
    uint64_t v = 0;
    for (size_t k = n; k-- > 0;) v = (v << 8) | uint8_t(p[k]);
    return v;
  }
  std::string read_line() {
    const size_t end = d_.find('\n', pos_);
    if (end == std::string_view::npos) error("truncated: a GLOBAL without its newline");
    std::string s(d_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  Obj* make(Obj::Kind k) {
    arena_.emplace_back();
    arena_.back().kind = k;
    return &arena_.back();
  }
  Obj* make_int(int64_t v) {
    Obj* o = make(Obj::Int);
    o->i = v;
    return o;
  }
  void push(Obj* o) { stack_.push_back(o); }
  Obj* pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) error("stack underflow");
    Obj* o = stack_.back();
    stack_.pop_back();
    return o;
  }
  Obj* top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) error("stack underflow");
    return stack_.back();
  }
  std::vector<Obj*> pop_mark() {  // the items since the last MARK
    if (marks_.empty()) error("no MARK before a tuple, list or dict opcode");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Obj*> items(stack_.begin() + std::ptrdiff_t(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  void memo_put(uint64_t index) { memo_[index] = top(); }
  Obj* memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) error("memo index {} was never stored", index);
    return it->second;
  }
  Obj* global(const std::string& module, const std::string& name);
  Obj* call(Obj* callable, Obj* args);
  Obj* storage(Obj* pid);
  Obj* rebuild_tensor(const std::vector<Obj*>& a);
  int64_t as_int(const Obj* o, const char* what) const {
    if (o->kind != Obj::Int) error("{} must be an int, got a {}", what, kind_name(o->kind));
    return o->i;
  }
  void set_items(Obj* dict, const std::vector<Obj*>& kv) {
    if (dict->kind != Obj::Dict) error("SETITEM(S) on a {}, not a dict", kind_name(dict->kind));
    if (kv.size() % 2 != 0) error("SETITEMS with an odd number of items");
    dict->items.insert(dict->items.end(), kv.begin(), kv.end());
  }

  std::string_view d_;
  std::string origin_;
  uint64_t max_bytes_;
  bool legacy_;
  size_t pos_ = 0, op_pos_ = 0;
  std::deque<Obj> arena_;
  std::vector<Obj*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Obj*> memo_;
  std::map<std::string, size_t> storage_index_;
};

Obj* Unpickler::global(const std::string& module, const std::string& name) {
  const std::string full = module + "." + name;
  if (!allowed_callable(full) && !storage_types().count(full))
    error("forbidden global '{}' (a state dict needs only torch's tensor-rebuilding functions, "
          "torch storage types and collections.OrderedDict; this file would run other code)",
          full.substr(0, 200));
  Obj* o = make(Obj::Global);
  o->s = full;
  return o;
}

// A storage from its persistent id: ('storage', type, key, location, numel) in the zip format,
// ('storage', type, key, location, numel, view_metadata) in the legacy one.
Obj* Unpickler::storage(Obj* pid) {
  if (pid->kind != Obj::Tuple || pid->items.size() != (legacy_ ? 6u : 5u))
    error("persistent id must be a tuple ('storage', type, key, location, numel{})",
          legacy_ ? ", view" : "");
  const auto& it = pid->items;
  if (it[0]->kind != Obj::Str || it[0]->s != "storage")
    error("persistent id of an unknown kind (only 'storage' is known)");
  if (it[1]->kind != Obj::Global || !storage_types().count(it[1]->s))
    error("persistent id: the storage type must be a torch storage type, got a {}{}",
          kind_name(it[1]->kind), it[1]->kind == Obj::Global ? " " + it[1]->s : "");
  if (it[2]->kind != Obj::Str) error("persistent id: the storage key must be a str");
  if (it[3]->kind != Obj::Str) error("persistent id: the location must be a str");
  if (legacy_ && it[5]->kind != Obj::None)
    error("legacy storage views are not supported; re-save with torch>=1.6");
  const int64_t numel = as_int(it[4], "the storage's element count");
  TorchStorageRef ref{it[2]->s, storage_types().at(it[1]->s), 0};
  const uint64_t esize = dtype_size(ref.dtype);
  if (numel < 0 || uint64_t(numel) > max_bytes_ / esize)
    error("storage '{}' claims {} elements of {}, more than the file's {} bytes hold", ref.key,
          numel, ref.dtype, max_bytes_);
  ref.numel = uint64_t(numel);
  if (ref.key.empty() || ref.key.size() > 256 ||
      ref.key.find_first_of("/\\") != std::string::npos || ref.key == "." || ref.key == "..")
    error("storage key '{}' is not a plain name", ref.key.substr(0, 64));
  const auto [pos, added] = storage_index_.emplace(ref.key, storages.size());
  if (added) {
    storages.push_back(ref);
  } else {
    const auto& prev = storages[pos->second];
    if (prev.dtype != ref.dtype || prev.numel != ref.numel)
      error("storage '{}' is declared twice differently ({} x {}, then {} x {})", ref.key,
            prev.numel, prev.dtype, ref.numel, ref.dtype);
  }
  Obj* o = make(Obj::Storage);
  o->i = int64_t(pos->second);
  return o;
}

// _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) and
// _rebuild_tensor(storage, offset, size, stride): a view of the storage, checked to lie inside.
Obj* Unpickler::rebuild_tensor(const std::vector<Obj*>& a) {
  if (a[0]->kind != Obj::Storage)
    error("a tensor's first argument must be a storage, got a {}", kind_name(a[0]->kind));
  const TorchStorageRef& st = storages[size_t(a[0]->i)];
  const int64_t offset = as_int(a[1], "a tensor's storage offset");
  if (a[2]->kind != Obj::Tuple || a[3]->kind != Obj::Tuple)
    error("a tensor's size and stride must be tuples");
  if (a[2]->items.size() != a[3]->items.size() || a[2]->items.size() > kMaxDims)
    error("a tensor's size ({} dims) and stride ({} dims) must have the same length, at most {}",
          a[2]->items.size(), a[3]->items.size(), kMaxDims);
  Obj* o = make(Obj::Tensor);
  TorchTensorRef& t = o->tensor;
  t.storage = size_t(a[0]->i);
  if (offset < 0 || uint64_t(offset) > st.numel)
    error("storage offset {} outside storage '{}' of {} elements", offset, st.key, st.numel);
  t.offset = uint64_t(offset);
  uint64_t numel = 1, last = 0;  // last: the largest element index used, relative to offset
  for (size_t k = 0; k < a[2]->items.size(); ++k) {
    const int64_t size = as_int(a[2]->items[k], "a tensor dimension");
    const int64_t stride = as_int(a[3]->items[k], "a tensor stride");
    if (size < 0 || stride < 0 || uint64_t(size) > kMaxIndex || uint64_t(stride) > kMaxIndex)
      error("tensor size {} / stride {} out of range", size, stride);
    t.shape.push_back(size);
    t.stride.push_back(stride);
    if (size == 0) numel = 0;
    if (numel != 0 && uint64_t(size) > kMaxIndex / numel)
      error("tensor of {} elements is too large", fmt::join(t.shape, " x "));
    numel *= uint64_t(size);
    if (size > 0) {
      if (stride != 0 && uint64_t(size - 1) > kMaxIndex / uint64_t(stride))
        error("tensor view beyond any storage (size {} x stride {})", size, stride);
      last += uint64_t(size - 1) * uint64_t(stride);
      if (last > kMaxIndex) error("tensor view beyond any storage");
    }
  }
  t.numel = numel;
  if (numel > 0 && (last >= st.numel - t.offset || t.offset >= st.numel))
    error("tensor view (offset {}, size [{}], stride [{}]) reaches outside storage '{}' of {} "
          "elements",
          t.offset, fmt::join(t.shape, ", "), fmt::join(t.stride, ", "), st.key, st.numel);
  if (numel > st.numel)
    error("tensor of {} elements views storage '{}' of only {} (overlapping strides are not "
          "supported)",
          numel, st.key, st.numel);
  return o;
}

Obj* Unpickler::call(Obj* callable, Obj* args) {
  if (callable->kind != Obj::Global || !allowed_callable(callable->s))
    error("cannot call a {}{} (only tensor rebuilding and OrderedDict)", kind_name(callable->kind),
          callable->kind == Obj::Global ? " " + callable->s : "");
  if (args->kind != Obj::Tuple) error("{}: arguments must be a tuple", callable->s);
  const auto& a = args->items;
  const std::string& f = callable->s;
  if (f == "collections.OrderedDict") {
    if (!a.empty()) error("OrderedDict with arguments is not supported");
    return make(Obj::Dict);
  }
  if (f == "torch._utils._rebuild_parameter") {
    if (a.size() != 3 || a[0]->kind != Obj::Tensor)
      error("_rebuild_parameter(tensor, requires_grad, hooks) expected");
    return a[0];
  }
  if (f == "torch._utils._rebuild_tensor" ? a.size() != 4 : (a.size() != 6 && a.size() != 7))
    error("{} with {} arguments", f, a.size());
  return rebuild_tensor(a);
}

Obj* Unpickler::run() {
  while (true) {
    op_pos_ = pos_;
    const uint8_t op = uint8_t(*take(1));
    switch (op) {
      case 0x80: {  // PROTO
        const uint8_t proto = uint8_t(*take(1));
        if (proto < 2 || proto > 5) error("pickle protocol {} (2-5 supported)", proto);
        break;
      }
      case 0x95: read_le(8); break;  // FRAME: the length of the next frame; nothing to do
      case '.': {                    // STOP
        if (!marks_.empty()) error("STOP inside a MARK");
        Obj* o = pop();
        if (!stack_.empty()) error("STOP with {} more items on the stack", stack_.size());
        return o;
      }
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '0': pop(); break;                            // POP
      case '1': pop_mark(); break;                       // POP_MARK
      case 'N': push(make(Obj::None)); break;
      case 0x88:
      case 0x89: {  // NEWTRUE, NEWFALSE
        Obj* o = make(Obj::Bool);
        o->i = op == 0x88;
        push(o);
        break;
      }
      case 'J': push(make_int(int32_t(uint32_t(read_le(4))))); break;  // BININT
      case 'K': push(make_int(int64_t(read_le(1)))); break;            // BININT1
      case 'M': push(make_int(int64_t(read_le(2)))); break;            // BININT2
      case 0x8a: {                                                     // LONG1
        const size_t n = size_t(read_le(1));
        if (n > 8) error("LONG1 of {} bytes (at most 8 supported)", n);
        uint64_t v = n == 0 ? 0 : read_le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);  // sign
        push(make_int(int64_t(v)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        const char* p = take(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | uint8_t(p[k]);
        Obj* o = make(Obj::Float);
        std::memcpy(&o->f, &bits, 8);
        push(o);
        break;
      }
      case 0x8c:  // SHORT_BINUNICODE
      case 'X':   // BINUNICODE
      case 0x8d: {  // BINUNICODE8
        const uint64_t n = read_le(op == 0x8c ? 1 : op == 'X' ? 4 : 8);
        if (n > d_.size() - pos_) error("truncated: a string of {} bytes", n);
        Obj* o = make(Obj::Str);
        o->s.assign(take(size_t(n)), size_t(n));
        push(o);
        break;
      }
      case ')': push(make(Obj::Tuple)); break;  // EMPTY_TUPLE
      case 't': {                               // TUPLE
        Obj* o = make(Obj::Tuple);
        o->items = pop_mark();
        push(o);
        break;
      }
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
        const size_t n = size_t(op - 0x84);
        Obj* o = make(Obj::Tuple);
        o->items.resize(n);
        for (size_t k = n; k-- > 0;) o->items[k] = pop();
        push(o);
        break;
      }
      case ']': push(make(Obj::List)); break;  // EMPTY_LIST
      case '}': push(make(Obj::Dict)); break;  // EMPTY_DICT
      case 'a': {                              // APPEND
        Obj* v = pop();
        Obj* list = top();
        if (list->kind != Obj::List) error("APPEND to a {}", kind_name(list->kind));
        list->items.push_back(v);
        break;
      }
      case 'e': {  // APPENDS
        const auto items = pop_mark();
        Obj* list = top();
        if (list->kind != Obj::List) error("APPENDS to a {}", kind_name(list->kind));
        list->items.insert(list->items.end(), items.begin(), items.end());
        break;
      }
      case 's': {  // SETITEM
        Obj* v = pop();
        Obj* k = pop();
        set_items(top(), {k, v});
        break;
      }
      case 'u': {  // SETITEMS
        const auto kv = pop_mark();
        set_items(top(), kv);
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        const std::string module = read_line();
        const std::string name = read_line();
        push(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Obj* name = pop();
        Obj* module = pop();
        if (module->kind != Obj::Str || name->kind != Obj::Str)
          error("STACK_GLOBAL needs two strings");
        push(global(module->s, name->s));
        break;
      }
      case 'R': {  // REDUCE
        Obj* args = pop();
        Obj* callable = pop();
        push(call(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        Obj* args = pop();
        Obj* cls = pop();
        if (cls->kind != Obj::Global || cls->s != "collections.OrderedDict")
          error("NEWOBJ of {} (only OrderedDict)",
                cls->kind == Obj::Global ? cls->s : std::string(kind_name(cls->kind)));
        push(call(cls, args));
        break;
      }
      case 'b': {  // BUILD: an object's state (the _metadata of a state dict): ignored
        pop();
        Obj* o = top();
        if (o->kind != Obj::Dict && o->kind != Obj::Tensor)
          error("BUILD on a {}", kind_name(o->kind));
        break;
      }
      case 'Q': push(storage(pop())); break;  // BINPERSID
      case 'q': memo_put(read_le(1)); break;  // BINPUT
      case 'r': memo_put(read_le(4)); break;  // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
      case 'h': push(memo_get(read_le(1))); break;  // BINGET
      case 'j': push(memo_get(read_le(4))); break;  // LONG_BINGET
      default:
        error("unsupported pickle opcode 0x{:02x}{} (not one a state dict uses)", op,
              op >= 0x20 && op < 0x7f ? fmt::format(" '{}'", char(op)) : "");
    }
  }
}

// The tensors of the unpickled object: a dict of tensors, nested dicts joined with '.'.
// `budget` counts the entries visited: a dict reachable twice (through the memo) is walked
// twice, so a pickle of a few bytes could otherwise ask for exponential work.
void collect(const Obj* dict, const std::string& prefix, int depth, const std::string& origin,
             size_t& budget, std::map<std::string, TorchTensorRef>& out) {
  if (depth > kMaxNesting) fail("{}: dicts nested deeper than {}", origin, kMaxNesting);
  for (size_t k = 0; k + 1 < dict->items.size(); k += 2) {
    if (budget-- == 0)
      fail("{}: the dicts' entries, counted along every path, outnumber the pickle's bytes "
           "(shared or cyclic dicts)",
           origin);
    const Obj* key = dict->items[k];
    const Obj* value = dict->items[k + 1];
    std::string name;
    if (key->kind == Obj::Str) name = key->s;
    else if (key->kind == Obj::Int) name = std::to_string(key->i);
    else continue;  // not a state-dict entry
    name = prefix + name;
    if (value->kind == Obj::Dict) {
      collect(value, name + ".", depth + 1, origin, budget, out);
    } else if (value->kind == Obj::Tensor) {
      TorchTensorRef t = value->tensor;
      t.name = name;
      if (!out.emplace(name, std::move(t)).second)
        fail("{}: tensor '{}' appears twice", origin, name);
    }
  }
}

}  // namespace

TorchStateDict parse_state_dict_pickle(std::string_view pickle, const std::string& origin,
                                       uint64_t max_bytes, bool legacy, size_t* consumed) {
  Unpickler u(pickle, origin, max_bytes, legacy);
  const Obj* root = u.run();
  if (consumed) *consumed = u.position();
  if (root->kind != Obj::Dict)
    fail("{}: the pickled object is of type {}, not a state dict (a dict of tensors)", origin,
         kind_name(root->kind));
  std::map<std::string, TorchTensorRef> tensors;
  size_t budget = pickle.size();
  collect(root, "", 0, origin, budget, tensors);
  TorchStateDict sd;
  sd.storages = std::move(u.storages);
  for (auto& [name, t] : tensors) sd.tensors.push_back(std::move(t));
  return sd;
}

// --- the container: zip (libzip) or legacy -------------------------------------------------

struct ZipHandle {
  zip_t* za = nullptr;
  std::string prefix;  // "<archive>/"
  ~ZipHandle() {
    if (za) zip_discard(za);
  }
};

namespace {

std::string zip_error_text(int code) {
  zip_error_t e;
  zip_error_init_with_code(&e, code);
  std::string s = zip_error_strerror(&e);
  zip_error_fini(&e);
  return s;
}

// Reads entry `index` whole; its declared size must be `expected` (or, when expected is
// npos, at most `limit`), so nothing larger than the file is allocated even for a compressed
// entry that lies about its size.
std::string read_entry(zip_t* za, zip_int64_t index, uint64_t expected, uint64_t limit,
                       const std::string& origin) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(za, zip_uint64_t(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    fail("{}: cannot stat zip entry {}: {}", origin, index, zip_strerror(za));
  const std::string name = (st.valid & ZIP_STAT_NAME) && st.name ? st.name : "?";
  if (expected != std::numeric_limits<uint64_t>::max() ? st.size != expected : st.size > limit)
    fail("{}: zip entry '{}' has {} bytes, expected {}", origin, name, uint64_t(st.size),
         expected != std::numeric_limits<uint64_t>::max() ? fmt::format("{}", expected)
                                                          : fmt::format("at most {}", limit));
  zip_file_t* f = zip_fopen_index(za, zip_uint64_t(index), 0);
  if (!f) fail("{}: cannot open zip entry '{}': {}", origin, name, zip_strerror(za));
  std::string out(size_t(st.size), '\0');
  zip_uint64_t got = 0;
  while (got < st.size) {
    const zip_int64_t n = zip_fread(f, out.data() + got, st.size - got);
    if (n <= 0) break;
    got += zip_uint64_t(n);
  }
  const std::string err = zip_file_strerror(f);
  zip_fclose(f);
  if (got != st.size)
    fail("{}: zip entry '{}': read {} of its {} bytes ({})", origin, name, uint64_t(got),
         uint64_t(st.size), err);
  return out;
}

const std::string kLegacyMagic("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e", 15);

}  // namespace

TorchCheckpoint::~TorchCheckpoint() = default;

std::unique_ptr<TorchCheckpoint> TorchCheckpoint::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {}", path);
  char head[4] = {0, 0, 0, 0};
  in.read(head, 4);
  if (std::string_view(head, 2) == "PK") {
    std::unique_ptr<TorchCheckpoint> f(new TorchCheckpoint());
    f->origin_ = path;
    std::error_code ec;
    f->file_size_ = std::filesystem::file_size(path, ec);
    if (ec) fail("cannot read the size of {}: {}", path, ec.message());
    f->open_zip(path, nullptr);
    return f;
  }
  return parse(read_file(path), path);
}

std::unique_ptr<TorchCheckpoint> TorchCheckpoint::parse(std::string bytes, const std::string& origin) {
  std::unique_ptr<TorchCheckpoint> f(new TorchCheckpoint());
  f->origin_ = origin;
  f->file_size_ = bytes.size();
  f->bytes_ = std::move(bytes);
  if (f->bytes_.compare(0, 2, "PK") == 0) {
    f->open_zip("", &f->bytes_);
  } else if (f->bytes_.compare(0, kLegacyMagic.size(), kLegacyMagic) == 0) {
    f->open_legacy();
  } else {
    fail("{}: not a torch.save file (neither a zip archive nor the legacy format)", origin);
  }
  return f;
}

void TorchCheckpoint::open_zip(const std::string& path, const std::string* bytes) {
  zip_ = std::make_unique<ZipHandle>();
  int code = 0;
  if (bytes) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = zip_source_buffer_create(bytes->data(), bytes->size(), 0, &err);
    if (!src) {
      const std::string msg = zip_error_strerror(&err);
      zip_error_fini(&err);
      fail("{}: {}", origin_, msg);
    }
    zip_->za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!zip_->za) {
      zip_source_free(src);
      const std::string msg = zip_error_strerror(&err);
      zip_error_fini(&err);
      fail("{}: not a readable zip archive: {}", origin_, msg);
    }
    zip_error_fini(&err);
  } else {
    zip_->za = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!zip_->za) fail("{}: not a readable zip archive: {}", origin_, zip_error_text(code));
  }
  zip_t* za = zip_->za;
  // The archive's one "<name>/data.pkl".
  const zip_int64_t n = zip_get_num_entries(za, 0);
  zip_int64_t pkl = -1;
  for (zip_int64_t k = 0; k < n; ++k) {
    const char* name = zip_get_name(za, zip_uint64_t(k), ZIP_FL_ENC_RAW);
    if (!name) continue;
    const std::string_view s(name);
    const size_t slash = s.find('/');
    if (slash != std::string_view::npos && s.substr(slash + 1) == "data.pkl") {
      if (pkl >= 0) fail("{}: two data.pkl entries in the archive", origin_);
      pkl = k;
      zip_->prefix = std::string(s.substr(0, slash + 1));
    }
  }
  if (pkl < 0)
    fail("{}: a zip archive without <archive>/data.pkl: not a torch.save file", origin_);
  const zip_int64_t bo = zip_name_locate(za, (zip_->prefix + "byteorder").c_str(), ZIP_FL_ENC_RAW);
  if (bo >= 0) {
    const std::string order = read_entry(za, bo, std::numeric_limits<uint64_t>::max(), 16, origin_);
    if (order != "little")
      fail("{}: byteorder '{}': only little-endian checkpoints are supported", origin_,
           order.substr(0, 16));
  }
  const std::string pickle = read_entry(za, pkl, std::numeric_limits<uint64_t>::max(), file_size_, origin_);
  TorchStateDict sd = parse_state_dict_pickle(pickle, origin_ + ": data.pkl", file_size_);
  // Every storage a tensor uses is an entry of exactly its size.
  storage_entry_.assign(sd.storages.size(), -1);
  std::vector<bool> used(sd.storages.size(), false);
  for (const auto& t : sd.tensors) used[t.storage] = true;
  for (size_t s = 0; s < sd.storages.size(); ++s) {
    if (!used[s]) continue;
    const auto& st = sd.storages[s];
    const std::string entry = zip_->prefix + "data/" + st.key;
    const zip_int64_t idx = zip_name_locate(za, entry.c_str(), ZIP_FL_ENC_RAW);
    if (idx < 0) fail("{}: storage '{}' has no entry {} in the archive", origin_, st.key, entry);
    zip_stat_t zs;
    zip_stat_init(&zs);
    if (zip_stat_index(za, zip_uint64_t(idx), 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE))
      fail("{}: cannot stat {}", origin_, entry);
    const uint64_t want = st.numel * dtype_size(st.dtype);
    if (zs.size != want)
      fail("{}: storage '{}' holds {} bytes, its {} elements of {} need {}", origin_, st.key,
           uint64_t(zs.size), st.numel, st.dtype, want);
    storage_entry_[s] = idx;
  }
  index_tensors(std::move(sd));
}

// The legacy format: pickles of the magic number, the protocol version, system info and the
// object, then a pickled list of storage keys, then each storage: int64 count, raw bytes.
void TorchCheckpoint::open_legacy() {
  std::string_view rest(bytes_);
  size_t used = 0;
  rest.remove_prefix(kLegacyMagic.size());
  for (int k = 0; k < 2; ++k) {  // protocol version (an int), then system info (a dict)
    Unpickler u(rest, origin_ + ": legacy header", file_size_, true);
    const Obj* o = u.run();
    if (k == 0 && (o->kind != Obj::Int || o->i != 1001))
      fail("{}: legacy torch.save protocol is not 1001", origin_);
    if (k == 1) {
      if (o->kind != Obj::Dict) fail("{}: legacy system info is not a dict", origin_);
      for (size_t j = 0; j + 1 < o->items.size(); j += 2)
        if (o->items[j]->kind == Obj::Str && o->items[j]->s == "little_endian" &&
            !(o->items[j + 1]->kind == Obj::Bool && o->items[j + 1]->i == 1))
          fail("{}: only little-endian checkpoints are supported", origin_);
    }
    rest.remove_prefix(u.position());
  }
  TorchStateDict sd = parse_state_dict_pickle(rest, origin_, file_size_, true, &used);
  rest.remove_prefix(used);
  // The storage keys, in the order their data follows.
  Unpickler keys_reader(rest, origin_ + ": storage keys", file_size_, true);
  const Obj* keys = keys_reader.run();
  rest.remove_prefix(keys_reader.position());
  if (keys->kind != Obj::List) fail("{}: legacy storage keys are not a list", origin_);
  std::map<std::string, size_t> by_key;
  for (size_t s = 0; s < sd.storages.size(); ++s) by_key[sd.storages[s].key] = s;
  storage_offset_.assign(sd.storages.size(), std::numeric_limits<size_t>::max());
  for (const Obj* k : keys->items) {
    if (k->kind != Obj::Str) fail("{}: a legacy storage key is not a str", origin_);
    const auto it = by_key.find(k->s);
    if (it == by_key.end()) fail("{}: storage key '{}' of no tensor", origin_, k->s);
    const auto& st = sd.storages[it->second];
    if (rest.size() < 8) fail("{}: truncated before storage '{}'", origin_, st.key);
    uint64_t count = 0;
    for (int b = 7; b >= 0; --b) count = (count << 8) | uint8_t(rest[size_t(b)]);
    rest.remove_prefix(8);
    const uint64_t esize = dtype_size(st.dtype);
    if (count != st.numel)
      fail("{}: storage '{}' holds {} elements, its pickle says {}", origin_, st.key, count, st.numel);
    if (storage_offset_[it->second] != std::numeric_limits<size_t>::max())
      fail("{}: storage '{}' listed twice", origin_, st.key);
    if (count > rest.size() / esize)
      fail("{}: truncated: storage '{}' needs {} bytes, {} left", origin_, st.key, count * esize,
           rest.size());
    storage_offset_[it->second] = size_t(rest.data() - bytes_.data());
    rest.remove_prefix(size_t(count * esize));
  }
  for (const auto& t : sd.tensors)
    if (storage_offset_[t.storage] == std::numeric_limits<size_t>::max())
      fail("{}: tensor '{}': its storage '{}' is missing", origin_, t.name,
           sd.storages[t.storage].key);
  index_tensors(std::move(sd));
}

void TorchCheckpoint::index_tensors(TorchStateDict sd) {
  storages_ = std::move(sd.storages);
  for (auto& t : sd.tensors) {
    total_elements_ += t.numel;
    if (total_elements_ > kMaxElementsPerByte * std::max<uint64_t>(file_size_, 1))
      fail("{}: its tensors hold more than {} elements per byte of the file (views of shared "
           "storages, {} at '{}'): refused",
           origin_, kMaxElementsPerByte, total_elements_, t.name);
    std::string name = t.name;
    tensors_.emplace(std::move(name), std::move(t));
  }
}

TensorInfo TorchCheckpoint::info(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("{}: missing tensor '{}'", origin_, name);
  return {storages_[it->second.storage].dtype, it->second.shape};
}

std::vector<std::string> TorchCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors_) out.push_back(name);
  return out;
}

std::string TorchCheckpoint::storage_bytes(size_t s) const {
  const auto& st = storages_[s];
  const uint64_t nbytes = st.numel * dtype_size(st.dtype);
  if (!zip_) return bytes_.substr(storage_offset_[s], size_t(nbytes));
  std::lock_guard<std::mutex> lock(zip_mutex_);
  return read_entry(zip_->za, storage_entry_[s], nbytes, nbytes, origin_);
}

std::string TorchCheckpoint::read_raw(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("{}: missing tensor '{}'", origin_, name);
  const TorchTensorRef& t = it->second;
  const size_t esize = dtype_size(storages_[t.storage].dtype);
  std::string out(size_t(t.numel) * esize, '\0');
  if (t.numel == 0) return out;
  const std::string storage = storage_bytes(t.storage);
  // Row-major walk over the view: an odometer over the dimensions (checked in the pickle to
  // stay inside the storage).
  const size_t dims = t.shape.size();
  std::vector<int64_t> idx(dims, 0);
  uint64_t src = t.offset;
  for (uint64_t e = 0; e < t.numel; ++e) {
    std::memcpy(out.data() + e * esize, storage.data() + src * esize, esize);
    for (size_t d = dims; d-- > 0;) {
      if (++idx[d] < t.shape[d]) {
        src += uint64_t(t.stride[d]);
        break;
      }
      src -= uint64_t(t.stride[d]) * uint64_t(t.shape[d] - 1);
      idx[d] = 0;
    }
  }
  return out;
}

}  // namespace lengen::io
