// Awaiting the write path from a session coroutine.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <vector>

#include "core/event.h"
#include "hub/publisher.h"

namespace herald::http {

// Submits `drafts` as one request and resumes on the caller's shard with the outcome.
boost::asio::awaitable<hub::PublishOutcome> Publish(hub::Publisher& publisher,
                                                    std::vector<EventDraft> drafts,
                                                    std::optional<hub::IdempotencyKey> idempotency);

// Submits a context command and resumes on the caller's shard with the outcome.
boost::asio::awaitable<hub::PublishOutcome> Publish(hub::Publisher& publisher,
                                                    hub::ContextCommand command);

}  // namespace herald::http
