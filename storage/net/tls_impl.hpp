// The Asio side of TlsContext, for the .cpp files that speak TLS only.
#pragma once

#include <string>

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "storage/net/tls.hpp"

namespace ezone::net {

struct TlsContext::Impl {
  Impl(boost::asio::ssl::context::method method, Role r) : context(method), role(r) {}
  boost::asio::ssl::context context;
  Role role;
  bool client_cert = false;
};

// What went wrong in a TLS operation, for error messages: the OpenSSL
// reason, and when the peer's certificate was refused, why (e.g.
// "certificate verify failed: self-signed certificate"). ssl may be null.
std::string tls_error_text(const boost::system::error_code& ec, SSL* ssl);

// Makes a client connection's handshake check that the server's
// certificate names host: an IP address (subjectAltName IP), or a DNS
// name, which is also sent as SNI. OpenSSL does the check, so a mismatch
// is reported as one ("IP address mismatch", "hostname mismatch").
void tls_expect_host(SSL* ssl, const std::string& host);

}  // namespace ezone::net
