// Running blocking work (store reads) off the I/O thread and resuming the coroutine on its own
// shard with the result (STYLE §11).
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>
#include <utility>

namespace herald::http {

// Runs `fn()` on `pool`; the awaiting coroutine resumes on its own executor with the result.
// `fn` must not touch shard-owned state.
template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> Offload(boost::asio::thread_pool& pool, Fn fn) {
  using Result = std::invoke_result_t<Fn>;
  auto initiate = [&pool](auto handler, Fn work) {
    auto guard = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
    boost::asio::post(pool, [handler = std::move(handler), work = std::move(work),
                             guard = std::move(guard)]() mutable {
      Result result = work();
      auto executor = guard.get_executor();
      boost::asio::post(executor,
                        [handler = std::move(handler), result = std::move(result)]() mutable {
                          std::move(handler)(std::move(result));
                        });
    });
  };
  co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                                 void(Result)>(
      std::move(initiate), boost::asio::use_awaitable, std::move(fn));
}

}  // namespace herald::http
