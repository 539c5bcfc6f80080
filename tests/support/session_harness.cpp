#include "support/session_harness.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "http/sse_session_steps.h"
#include "store/memory_store.h"

namespace herald::testing {

namespace {

constexpr std::string_view kSecret = "session-harness-secret";

// Bounded polling of a condition (no sleeps as synchronisation: the condition decides).
bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

// A MemoryStore whose reads can be made to fail (a store that went away), writes untouched.
class SessionHarness::ReadFailingStore final : public store::EventStore {
 public:
  std::atomic<bool> fail_reads{false};

  // Holding: a range or contexts read waits (bounded) until released, counted in held_reads.
  void Hold(bool hold) {
    std::lock_guard lock(gate_mutex_);
    hold_ = hold;
    gate_.notify_all();
  }
  bool WaitForHeldRead(std::chrono::milliseconds timeout) {
    std::unique_lock lock(gate_mutex_);
    return gate_.wait_for(lock, timeout, [this] { return held_reads_ > 0; });
  }

  std::uint32_t History() const override { return inner_.History(); }
  Result<std::unique_ptr<store::WriteGroup>> BeginGroup() override { return inner_.BeginGroup(); }
  Result<store::ContextsView> ReadContexts(const UserId& user,
                                           const store::ContextQuery& query) override {
    if (fail_reads) return store::StoreFailure("reads fail (test)");
    PassGate();
    return inner_.ReadContexts(user, query);
  }
  Result<store::ReplayPage> ReadAfter(const UserId& user, std::uint64_t after_sequence,
                                      const store::ReplayFilter& filter,
                                      std::size_t limit) override {
    if (fail_reads) return store::StoreFailure("reads fail (test)");
    return inner_.ReadAfter(user, after_sequence, filter, limit);
  }
  Result<store::UserRange> Range(const UserId& user) override {
    if (fail_reads) return store::StoreFailure("reads fail (test)");
    PassGate();
    return inner_.Range(user);
  }
  Result<std::size_t> Prune(const store::RetentionPolicy& policy,
                            std::chrono::system_clock::time_point now,
                            std::size_t max_rows) override {
    return inner_.Prune(policy, now, max_rows);
  }

 private:
  store::MemoryStore inner_;
  std::mutex gate_mutex_;
  std::condition_variable gate_;
  bool hold_ = false;
  int held_reads_ = 0;

  void PassGate() {
    std::unique_lock lock(gate_mutex_);
    if (!hold_) return;
    ++held_reads_;
    gate_.notify_all();
    gate_.wait_for(lock, std::chrono::seconds(10), [this] { return !hold_; });
  }
};

struct SessionClient::State {
  std::unique_ptr<boost::beast::test::stream> client;  // shard only
  std::shared_ptr<TransportRecord> record;             // shard only
};

std::string SessionClient::Received() {
  std::string bytes;
  harness_->OnShard(
      [&] { bytes = boost::beast::buffers_to_string(state_->client->buffer().data()); });
  return bytes;
}

bool SessionClient::WaitFor(std::string_view text, std::chrono::milliseconds timeout) {
  return Eventually([&] { return Received().find(text) != std::string::npos; }, timeout);
}

bool SessionClient::WaitForClose(std::chrono::milliseconds timeout) {
  return Eventually(
      [&] {
        bool open = true;
        harness_->OnShard([&] { open = state_->record->open; });
        return !open;
      },
      timeout);
}

std::vector<std::string> SessionClient::TransportCalls() {
  std::vector<std::string> calls;
  harness_->OnShard([&] { calls = state_->record->calls; });
  return calls;
}

void SessionClient::Disconnect() {
  harness_->OnShard([&] { state_->client->close(); });
}

SessionHarness::SessionHarness(SessionHarnessOptions options)
    : store_(std::make_unique<ReadFailingStore>()) {
  auth::VerifierConfig verifier;
  verifier.hs256_secret = std::string(kSecret);
  verifier_ = std::make_unique<auth::Verifier>(verifier);
  options.hub.threads = 1;
  hub_ = std::make_unique<hub::Hub>(options.hub, *store_, metrics_, clock_);
  services_.reset(new http::Services{*hub_, *verifier_, options.http, {}, {}, ""});
  hub_->Start();
  // Every Advance wakes every open session, on the shard, to re-check its deadlines.
  clock_.OnAdvance([this] {
    boost::asio::post(hub_->shards()[0].io_context(), [this] {
      for (const auto& client : clients_) {
        if (client->record->wake) client->record->wake();
      }
    });
  });
}

SessionHarness::~SessionHarness() {
  hub_->DisconnectAll(hub::DisconnectReason::kDrain);
  WaitForOpenStreams(0, std::chrono::seconds(5));
  // Clients go away (ending a slow consumer's grace), on the shard that owns their streams.
  OnShard([this] {
    for (const auto& client : clients_) client->client->close();
  });
  hub_->Stop();
  clients_.clear();  // the shard has stopped: nothing else touches the streams
}

std::uint32_t SessionHarness::History() const { return store_->History(); }

void SessionHarness::FailReads(bool fail) { store_->fail_reads = fail; }

void SessionHarness::HoldReads() { store_->Hold(true); }

bool SessionHarness::WaitForHeldRead() { return store_->WaitForHeldRead(std::chrono::seconds(10)); }

void SessionHarness::ReleaseReads() { store_->Hold(false); }

http::StreamRequest SessionHarness::Request(const std::string& user, Stream stream,
                                            std::chrono::seconds ttl) {
  http::StreamRequest request;
  request.stream = stream;
  request.claims.user = UserId(user);
  request.claims.expires_at = clock_.Now() + ttl;
  return request;
}

SessionClient SessionHarness::Open(http::StreamRequest request) {
  auto state = std::make_shared<SessionClient::State>();
  state->record = std::make_shared<TransportRecord>();
  hub::Shard* shard = &hub_->shards()[0];
  OnShard([&] {
    boost::beast::test::stream server(shard->io_context());
    state->client = std::make_unique<boost::beast::test::stream>(shard->io_context());
    server.connect(*state->client);
    clients_.push_back(state);
    boost::asio::co_spawn(shard->io_context(),
                          http::RunSseSessionOn(SessionStream(std::move(server), state->record),
                                                shard, std::move(request), services_.get()),
                          [](std::exception_ptr e) {
                            if (e) std::rethrow_exception(e);  // the shard aborts: a bug
                          });
  });
  return SessionClient(this, std::move(state));
}

std::vector<EventId> SessionHarness::Publish(const std::string& user,
                                             const std::vector<std::string>& jsons,
                                             Protocol protocol, std::optional<ContextId> context) {
  std::vector<EventDraft> drafts;
  for (const std::string& json : jsons) {
    EventDraft draft;
    draft.user = UserId(user);
    draft.protocol = protocol;
    draft.context = context;
    draft.type = "CUSTOM";
    draft.json = json;
    drafts.push_back(std::move(draft));
  }
  auto done = std::make_shared<std::promise<hub::PublishOutcome>>();
  auto outcome = done->get_future();
  hub_->publisher().Submit(std::move(drafts),
                           [done](hub::PublishOutcome o) { done->set_value(std::move(o)); });
  if (outcome.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    throw std::runtime_error("publish not completed within 10 s");
  }
  const hub::PublishOutcome result = outcome.get();
  if (!result) throw std::runtime_error("publish refused");
  std::vector<EventId> ids;
  for (const Result<hub::PublishedEvent>& e : result->events) ids.push_back(e ? e->id : EventId{});
  return ids;
}

void SessionHarness::OnShard(std::function<void()> fn) {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  boost::asio::post(hub_->shards()[0].io_context(), [fn = std::move(fn), done] {
    fn();
    done->set_value();
  });
  if (finished.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    throw std::runtime_error("the shard did not run a task within 10 s");
  }
}

void SessionHarness::Settle() {
  for (int i = 0; i < 8; ++i) OnShard([] {});
}

bool SessionHarness::WaitForOpenStreams(std::int64_t n, std::chrono::milliseconds timeout) {
  return Eventually(
      [&] {
        return metrics_.OpenConnections(Stream::kAgui) + metrics_.OpenConnections(Stream::kA2a) +
                   metrics_.OpenConnections(Stream::kContexts) ==
               n;
      },
      timeout);
}

}  // namespace herald::testing
