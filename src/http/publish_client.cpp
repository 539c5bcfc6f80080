#include "http/publish_client.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

namespace herald::http {

namespace asio = boost::asio;

asio::awaitable<hub::PublishOutcome> Publish(hub::Publisher& publisher,
                                             std::vector<EventDraft> drafts,
                                             std::optional<hub::IdempotencyKey> idempotency) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(hub::PublishOutcome)>(
      [&publisher](auto handler, std::vector<EventDraft> drafts,
                   std::optional<hub::IdempotencyKey> idempotency) {
        // The outcome arrives on the writer thread; resume this coroutine on its own shard.
        auto executor = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        publisher.Submit(std::move(drafts), std::move(idempotency),
                         [executor, shared](hub::PublishOutcome outcome) {
                           asio::post(executor, [shared, outcome = std::move(outcome)]() mutable {
                             std::move (*shared)(std::move(outcome));
                           });
                         });
      },
      asio::use_awaitable, std::move(drafts), std::move(idempotency));
}

}  // namespace herald::http
