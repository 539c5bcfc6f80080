// Microbenchmarks of the publish path's pieces (issue 15), with Google Benchmark:
//   make bench-micro            (or build/bench/micro/micro_bench --benchmark_filter=...)
// Each one is a piece a publish or a delivery pays for: the token check (verified, and answered
// from the token cache), turning a webhook body into a draft (parse, validate, encode), the SSE
// frame of a delivery, and one commit group on SQLite. Figures go to docs/BENCHMARKS.md with
// the machine they ran on; they are not tests.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "auth/minter.h"
#include "auth/verifier.h"
#include "core/event_id.h"
#include "core/json_numbers.h"
#include "core/sse.h"
#include "http/publish_handler.h"
#include "hub/publication.h"
#include "store/sqlite_store.h"

namespace herald {
namespace {

using namespace std::chrono_literals;

const std::string kSecret = "micro-bench-secret-0123456789abcdef0123";

auth::VerifierConfig Hs256(std::size_t cache_entries) {
  auth::VerifierConfig config;
  config.hs256_secret = kSecret;
  config.cache_entries = cache_entries;
  return config;
}

// range(0): 0 verifies every call, 1 answers from the token cache after the first.
void BM_VerifyHs256Token(benchmark::State& state) {
  const auto now = std::chrono::system_clock::now();
  const auth::Verifier verifier(Hs256(state.range(0) == 0 ? 0 : 4096));
  const std::string token = auth::MintHs256(kSecret, "user-42", "events:publish", 1h, now);
  for (auto _ : state) {
    Result<auth::Claims> result = verifier.Verify(token, now);
    if (!result) state.SkipWithError("token refused");
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_VerifyHs256Token)->ArgName("cached")->Arg(0)->Arg(1);

// A typical AG-UI streaming event as a service posts it to /api/v1/webhook/agui.
const std::string kWebhookBody =
    R"({"user_id":"user-42","type":"TEXT_MESSAGE_CONTENT","messageId":"msg-0123456789",)"
    R"("delta":"The quick brown fox jumps over the lazy dog, again and again, )"
    R"(until the message is about two hundred bytes long."})";

void BM_WebhookBodyToDraft(benchmark::State& state) {
  const auto now = std::chrono::system_clock::now();
  const auth::Claims caller{UserId("service"), {"events:publish"}, now + 1h};
  for (auto _ : state) {
    NumberTexts numbers;
    auto parsed = http::ParseJson(kWebhookBody, &numbers);
    boost::json::value* value = parsed ? &*parsed : nullptr;
    if (value == nullptr || !value->is_object()) {
      state.SkipWithError("body refused");
      break;
    }
    hub::DraftResult draft = hub::DraftFromWebhook(Protocol::kAgui, std::move(value->as_object()),
                                                   caller, now, ValidationMode::kStrict);
    EventDraft* event = draft ? &*draft : nullptr;
    if (event == nullptr) {
      state.SkipWithError("event refused");
      break;
    }
    numbers.Restore(event->json);
    benchmark::DoNotOptimize(event->json.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kWebhookBody.size()));
}
BENCHMARK(BM_WebhookBodyToDraft);

// The frame one delivery writes: the event id, formatted, and the event's JSON.
void BM_DeliveryFrame(benchmark::State& state) {
  const std::string json =
      R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"msg-0123456789","delta":"The quick brown )"
      R"(fox jumps over the lazy dog, again and again.","timestamp":1765000000000})";
  std::uint64_t sequence = 1;
  for (auto _ : state) {
    const std::string frame = sse::DataFrame(FormatEventId({0x1234abcd, sequence++}), json);
    benchmark::DoNotOptimize(frame.data());
  }
}
BENCHMARK(BM_DeliveryFrame);

// One write group of range(0) events for range(0) different users (the common shape: many
// users, an event each), committed to a SQLite file with the default durability.
// The process's CPU time (every thread's), in microseconds.
double ProcessCpuMicros() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto micros = [](const timeval& t) {
    return t.tv_sec * 1e6 + static_cast<double>(t.tv_usec);
  };
  return micros(usage.ru_utime) + micros(usage.ru_stime);
}

// One commit group of `events` events, one per user. checkpointer:1 is the store as shipped (WAL
// checkpoints on their own thread); checkpointer:0 has the writer run them at 1 000 pages, as
// SQLite's autocheckpoint does. "CPU" counts the benchmark thread only; process_cpu_us (per
// group) counts the checkpointer thread too.
void BM_CommitGroup(benchmark::State& state) {
  const auto events = static_cast<int>(state.range(0));
  const bool checkpointer = state.range(1) != 0;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("herald-micro-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    store::SqliteStoreOptions options{.path = (dir / "events.db").string()};
    if (!checkpointer) {
      options.checkpoint_frames = UINT32_MAX;
      options.writer_checkpoint_frames = 1000;
    }
    store::SqliteStore store(options);
    std::vector<EventDraft> drafts(static_cast<std::size_t>(events));
    for (int i = 0; i < events; ++i) {
      EventDraft& draft = drafts[static_cast<std::size_t>(i)];
      draft.user = UserId("user-" + std::to_string(i));
      draft.type = "TEXT_MESSAGE_CONTENT";
      draft.json = R"({"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":")" +
                   std::string(150, 'x') + R"("})";
    }
    const double cpu_before = ProcessCpuMicros();
    for (auto _ : state) {
      auto stored = store.Append(drafts, std::chrono::system_clock::now());
      if (!stored) {
        state.SkipWithError(stored.error().message.c_str());
        break;
      }
    }
    state.counters["process_cpu_us"] = benchmark::Counter((ProcessCpuMicros() - cpu_before) /
                                                          static_cast<double>(state.iterations()));
    state.SetItemsProcessed(state.iterations() * events);
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_CommitGroup)
    ->ArgNames({"events", "checkpointer"})
    ->ArgsProduct({{1, 16, 128}, {0, 1}})
    ->UseRealTime();

}  // namespace
}  // namespace herald

BENCHMARK_MAIN();
