#include "http/access_log.h"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

namespace herald::http {

namespace {

std::string Quoted(std::string_view text) {
  return boost::json::serialize(boost::json::string_view(text.data(), text.size()));
}

}  // namespace

std::string FormatAccess(const AccessRecord& record, bool json) {
  const double ms = std::chrono::duration<double, std::milli>(record.duration).count();
  const bool has_user = record.user != nullptr && record.user->has_value();
  if (json) {
    std::string out =
        fmt::format(R"("message":"request","method":{},"path":{},"status":{},"duration_ms":{:.3f},)"
                    R"("bytes":{},"request_id":{})",
                    Quoted(record.method), Quoted(record.path), record.status, ms,
                    record.body_bytes, Quoted(record.request_id));
    if (has_user) out += R"(,"user":)" + Quoted((*record.user)->str());
    if (record.stream) out += R"(,"stream":true)";
    return out;
  }
  std::string out = fmt::format("{} {} {} {:.3f} ms {} B id={}", record.method, record.path,
                                record.status, ms, record.body_bytes, record.request_id);
  if (has_user) out += " user=" + (*record.user)->str();
  if (record.stream) out += " stream";
  return out;
}

}  // namespace herald::http
