// A blocking HTTP/1.1 client on plain POSIX sockets, for tests that need
// full control of the bytes on the wire (custom headers, malformed or slow
// requests, pipelining) and see every response header. Not for production.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ezone::test {

struct RawResponse {
  int status = 0;  // 0: no complete response (closed, timed out, garbage)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The header's value, or "" when absent.
  std::string header(const std::string& lower_name) const;
};

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; connected() tells whether it worked.
  explicit RawConnection(uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Writes all bytes; false when the peer is gone.
  bool send(const std::string& bytes);
  // Reads one response (Content-Length framed) within timeout_ms.
  // to_head: the answer to a HEAD, whose Content-Length announces no body.
  RawResponse read_response(int64_t timeout_ms = 5000, bool to_head = false);
  // True when the server closes the connection within timeout_ms (bytes
  // that arrive meanwhile are kept for read_response).
  bool wait_closed(int64_t timeout_ms);
  // Closes the sending side only (the peer sees end of stream).
  void shutdown_send();

 private:
  bool fill(int64_t deadline_ms);
  int fd_ = -1;
  std::string pending_;
  bool eof_ = false;
};

using RawHeaders = std::vector<std::pair<std::string, std::string>>;

// The bytes of a request with a Content-Length body.
std::string raw_request(const std::string& method, const std::string& target, const RawHeaders& headers = {},
                        const std::string& body = "");

// One request on a new connection.
RawResponse http_call(uint16_t port, const std::string& method, const std::string& target,
                      const RawHeaders& headers = {}, const std::string& body = "", int64_t timeout_ms = 5000);

}  // namespace ezone::test
