// Bytes held at once, under a process-wide total and a share per key (a user, or a client
// address): the bound on the bodies of non-stream responses being written (docs/DECISIONS.md
// "Limits"). A charge is a Lease, released when it is destroyed.
//
// A key with nothing held may always take one charge within the total, however large, and the
// total admits one charge of any size when nothing is held: every response can be served, one
// at a time, so the bound is the larger of the limit and the largest single charge.
//
// Thread rule: thread-safe. One mutex, held for one map lookup. Leases share the budget's state,
// so a lease may outlive the budget (a session frame destroyed with its shard at shutdown).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace herald::hub {

class ByteBudget {
 public:
  struct Limits {
    std::size_t total = 0;    // bytes held at once by everyone; 0: no limit
    std::size_t per_key = 0;  // bytes held at once by one key; 0: no limit
  };
  // Which limit refused a charge; also the label of herald_responses_refused_total.
  enum class Refusal : std::uint8_t { kPerKey, kTotal };

 private:
  struct State;

 public:
  // A held charge; gives its bytes back when destroyed. Movable, not copyable.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    std::size_t bytes() const { return bytes_; }

   private:
    friend class ByteBudget;
    Lease(std::shared_ptr<State> state, std::string key, std::size_t bytes)
        : state_(std::move(state)), key_(std::move(key)), bytes_(bytes) {}
    void Release();

    std::shared_ptr<State> state_;
    std::string key_;
    std::size_t bytes_ = 0;
  };

  // `gauge`, when given, follows the bytes held (a metric; it must outlive every lease).
  explicit ByteBudget(Limits limits, std::atomic<std::int64_t>* gauge = nullptr);

  // Charges `bytes` to `key`: the lease, or the limit it would exceed (nothing charged then).
  // Zero bytes are always admitted and hold nothing.
  std::variant<Lease, Refusal> TryAcquire(std::string_view key, std::size_t bytes);

  std::size_t Held() const;
  std::size_t Held(std::string_view key) const;
  std::size_t Keys() const;  // keys holding bytes now (released ones are forgotten)

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct State {
    Limits limits;
    std::atomic<std::int64_t>* gauge = nullptr;
    mutable std::mutex mutex;
    std::size_t held = 0;
    std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> by_key;

    void Release(const std::string& key, std::size_t bytes);
  };

  std::shared_ptr<State> state_;
};

}  // namespace herald::hub
