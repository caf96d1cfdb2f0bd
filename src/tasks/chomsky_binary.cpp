// Binary arithmetic of the Chomsky-hierarchy benchmark (tasks/cs/ of
// google-deepmind/neural_networks_chomsky_hierarchy), on numbers of hundreds of bits:
//   binary_addition        a + b, both little-endian (lengths 1..n-2 and the rest, values
//                          uniform in 1..2^len - 1, written with their leading zeros); the
//                          sum little-endian without trailing zeros
//   binary_multiplication  a * b, the same
//   compute_sqrt           n big-endian bits of a value uniform in 1..2^n - 1; floor(sqrt) in
//                          ceil(n / 2) big-endian bits
// Upstream lengths 1 and 2 of the first two give inputs without an operator (addition echoes a
// number, multiplication answers an empty or all-zero string): those tasks start at length 3.
#include <algorithm>
#include <cstdint>

#include "tasks/builtin_tasks.h"
#include "tasks/chomsky_common.h"
#include "util/error.h"

namespace lengen::tasks {
namespace {

// Unsigned integers of any size: 32-bit limbs, least significant first, no leading zero limb.
class BigUint {
 public:
  static BigUint from_bits(const std::vector<int>& little_endian) {
    BigUint x;
    for (size_t i = 0; i < little_endian.size(); ++i)
      if (little_endian[i]) x.set_bit(i);
    return x;
  }
  std::vector<int> bits() const {  // little-endian, no trailing zeros ("0": {0})
    std::vector<int> out;
    for (size_t i = 0; i < limbs_.size() * 32; ++i) out.push_back(int(limbs_[i / 32] >> (i % 32) & 1u));
    while (out.size() > 1 && out.back() == 0) out.pop_back();
    if (out.empty()) out.push_back(0);
    return out;
  }
  void set_bit(size_t i) {
    if (limbs_.size() <= i / 32) limbs_.resize(i / 32 + 1, 0);
    limbs_[i / 32] |= 1u << (i % 32);
  }
  friend BigUint operator+(const BigUint& a, const BigUint& b) {
    BigUint r;
    uint64_t carry = 0;
    for (size_t i = 0; i < std::max(a.limbs_.size(), b.limbs_.size()) || carry; ++i) {
      carry += uint64_t(a.limb(i)) + b.limb(i);
      r.limbs_.push_back(uint32_t(carry));
      carry >>= 32;
    }
    r.trim();
    return r;
  }
  friend BigUint operator*(const BigUint& a, const BigUint& b) {
    BigUint r;
    r.limbs_.assign(a.limbs_.size() + b.limbs_.size(), 0);
    for (size_t i = 0; i < a.limbs_.size(); ++i) {
      uint64_t carry = 0;
      for (size_t j = 0; j < b.limbs_.size() || carry; ++j) {
        carry += r.limbs_[i + j] + uint64_t(a.limbs_[i]) * b.limb(j);
        r.limbs_[i + j] = uint32_t(carry);
        carry >>= 32;
      }
    }
    r.trim();
    return r;
  }
  friend bool operator<=(const BigUint& a, const BigUint& b) {
    if (a.limbs_.size() != b.limbs_.size()) return a.limbs_.size() < b.limbs_.size();
    for (size_t i = a.limbs_.size(); i-- > 0;)
      if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] < b.limbs_[i];
    return true;
  }

 private:
  uint32_t limb(size_t i) const { return i < limbs_.size() ? limbs_[i] : 0; }
  void trim() {
    while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
  }
  std::vector<uint32_t> limbs_;
};

// `len` bits of a value uniform in 1..2^len - 1 (rejection of the all-zero draw).
std::vector<int> nonzero_bits(Rng& rng, int len) {
  std::vector<int> b(static_cast<size_t>(len));
  do {
    for (int& x : b) x = int(rng.below(2));
  } while (std::find(b.begin(), b.end(), 1) == b.end());
  return b;
}

constexpr int kOperator = 2;  // the word after the bits

// a OP b for binary_addition and binary_multiplication.
class BinaryOperation : public ChomskyTask {
 public:
  BinaryOperation() : ChomskyTask(3) {}
 protected:
  std::vector<std::string> output_words() const override { return {"0", "1"}; }
  std::vector<int> sample_input(Rng& rng, int n) const override {
    const int a_len = int(rng.uniform(1, n - 2));
    std::vector<int> s = nonzero_bits(rng, a_len);
    s.push_back(kOperator);
    const std::vector<int> b = nonzero_bits(rng, n - 1 - a_len);
    s.insert(s.end(), b.begin(), b.end());
    return s;
  }
  std::vector<int> output(const std::vector<int>& s) const override {
    const auto op = std::find(s.begin(), s.end(), kOperator);
    if (op == s.end() || std::find(op + 1, s.end(), kOperator) != s.end())
      fail("{}: expected '<bits> {} <bits>'", name(), input_words()[kOperator]);
    return apply(BigUint::from_bits({s.begin(), op}), BigUint::from_bits({op + 1, s.end()})).bits();
  }
  virtual BigUint apply(const BigUint& a, const BigUint& b) const = 0;
};

class BinaryAddition final : public BinaryOperation {
 public:
  std::string name() const override { return "binary_addition"; }
 protected:
  std::vector<std::string> input_words() const override { return {"0", "1", "+"}; }
  BigUint apply(const BigUint& a, const BigUint& b) const override { return a + b; }
};

class BinaryMultiplication final : public BinaryOperation {
 public:
  std::string name() const override { return "binary_multiplication"; }
 protected:
  std::vector<std::string> input_words() const override { return {"0", "1", "*"}; }
  BigUint apply(const BigUint& a, const BigUint& b) const override { return a * b; }
};

class ComputeSqrt final : public ChomskyTask {
 public:
  std::string name() const override { return "compute_sqrt"; }
 protected:
  std::vector<std::string> input_words() const override { return {"0", "1"}; }
  std::vector<int> sample_input(Rng& rng, int n) const override { return nonzero_bits(rng, n); }
  // floor(sqrt(x)) bit by bit from the top: a bit stays when the square stays <= x.
  std::vector<int> output(const std::vector<int>& s) const override {
    const BigUint x = BigUint::from_bits({s.rbegin(), s.rend()});
    const size_t out_bits = (s.size() + 1) / 2;
    std::vector<int> root(out_bits, 0);  // little-endian
    for (size_t i = out_bits; i-- > 0;) {
      root[i] = 1;
      const BigUint r = BigUint::from_bits(root);
      if (!(r * r <= x)) root[i] = 0;
    }
    return {root.rbegin(), root.rend()};  // big-endian, ceil(n / 2) bits
  }
};

}  // namespace

std::unique_ptr<Task> make_binary_addition_task() { return std::make_unique<BinaryAddition>(); }
std::unique_ptr<Task> make_binary_multiplication_task() {
  return std::make_unique<BinaryMultiplication>();
}
std::unique_ptr<Task> make_compute_sqrt_task() { return std::make_unique<ComputeSqrt>(); }

}  // namespace lengen::tasks
