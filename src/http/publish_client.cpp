#include "http/publish_client.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

namespace herald::http {

namespace asio = boost::asio;

namespace {

// Calls `submit(completion)`; the outcome arrives on the writer thread and the coroutine resumes
// on its own shard. Not a coroutine itself: `submit` travels inside the awaitable's initiation
// (a lambda temporary held across a co_await frame was freed twice under GCC 12).
template <class Submit>
asio::awaitable<hub::PublishOutcome> Await(Submit submit) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(hub::PublishOutcome)>(
      [](auto handler, Submit submit) {
        auto executor = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        submit([executor, shared](hub::PublishOutcome outcome) {
          asio::post(executor, [shared, outcome = std::move(outcome)]() mutable {
            std::move (*shared)(std::move(outcome));
          });
        });
      },
      asio::use_awaitable, std::move(submit));
}

}  // namespace

asio::awaitable<hub::PublishOutcome> Publish(hub::Publisher& publisher,
                                             std::vector<EventDraft> drafts,
                                             std::optional<hub::IdempotencyKey> idempotency) {
  return Await([&publisher, drafts = std::move(drafts),
                idempotency = std::move(idempotency)](auto done) mutable {
    publisher.Submit(std::move(drafts), std::move(idempotency), std::move(done));
  });
}

asio::awaitable<hub::PublishOutcome> Publish(hub::Publisher& publisher,
                                             hub::ContextCommand command) {
  return Await([&publisher, command = std::move(command)](auto done) mutable {
    publisher.Submit(std::move(command), std::move(done));
  });
}

}  // namespace herald::http
