#include "storage/net/tls.hpp"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "storage/net/tls_impl.hpp"

namespace ezone::net {
namespace {

namespace ssl = boost::asio::ssl;
using ErrorCode = boost::system::error_code;

Status file_error(const std::string& what, const std::string& path, const ErrorCode& ec) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Status(Errc::not_found, "TLS " + what + " '" + path + "': no such file");
  return Status(Errc::invalid_argument, "TLS " + what + " '" + path + "': " + tls_error_text(ec, nullptr));
}

using SslContextPtr = std::shared_ptr<ssl::context>;

// TLS 1.2 and later only, and no session tickets (tls.hpp says why).
SslContextPtr make_context(TlsContext::Role role) {
  auto method = role == TlsContext::Role::server ? ssl::context::tls_server : ssl::context::tls_client;
  auto context = std::make_shared<ssl::context>(method);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(native, 0);
  return context;
}

Status load_own(ssl::context& context, const TlsFiles& files) {
  ErrorCode ec;
  context.use_certificate_chain_file(files.cert_file, ec);
  if (ec) return file_error("certificate", files.cert_file, ec);
  context.use_private_key_file(files.key_file, ssl::context::pem, ec);
  const bool mismatch = ec && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
  if (ec && !mismatch) return file_error("key", files.key_file, ec);
  if (mismatch || SSL_CTX_check_private_key(context.native_handle()) != 1)
    return Status(Errc::invalid_argument,
                  "TLS key '" + files.key_file + "' does not belong to certificate '" + files.cert_file + "'");
  return Status::ok();
}

Status load_ca(ssl::context& context, const TlsFiles& files) {
  ErrorCode ec;
  context.load_verify_file(files.ca_file, ec);
  if (ec) return file_error("CA file", files.ca_file, ec);
  return Status::ok();
}

// A context of this role from the files, checked (see TlsContext::server
// and ::client for what each role needs).
Result<SslContextPtr> build(TlsContext::Role role, const TlsFiles& files) {
  auto context = make_context(role);
  if (role == TlsContext::Role::server) {
    if (Status s = load_own(*context, files); !s) return s;
    if (!files.ca_file.empty()) {
      if (Status s = load_ca(*context, files); !s) return s;
      context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    return context;
  }
  if (Status s = load_ca(*context, files); !s) return s;
  if (!files.cert_file.empty())
    if (Status s = load_own(*context, files); !s) return s;
  context->set_verify_mode(ssl::verify_peer);
  return context;
}

// The bytes of the files, to tell whether a reload changed anything; empty
// when one cannot be read (build then says why).
std::string contents(const TlsFiles& files) {
  std::string out;
  for (const std::string* path : {&files.cert_file, &files.key_file, &files.ca_file}) {
    if (path->empty()) continue;
    std::ifstream in(*path, std::ios::binary);
    if (!in) return "";
    out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    out.push_back('\0');
  }
  return out;
}

}  // namespace

std::string tls_error_text(const ErrorCode& ec, SSL* ssl) {
  std::string text = ec.message();
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    if (const char* r = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) text = r;
  }
  if (ssl != nullptr) {
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) text += ": " + std::string(X509_verify_cert_error_string(verify));
  }
  return text;
}

Result<TlsContextPtr> client_tls_from_options(TlsFiles files) {
  const std::pair<std::string*, const char*> sources[] = {{&files.ca_file, "EZONE_TLS_CA_FILE"},
                                                          {&files.cert_file, "EZONE_TLS_CERT_FILE"},
                                                          {&files.key_file, "EZONE_TLS_KEY_FILE"}};
  for (const auto& [file, env] : sources)
    if (const char* value = std::getenv(env); file->empty() && value != nullptr) *file = value;
  if (files.ca_file.empty()) {
    if (files.cert_file.empty() && files.key_file.empty()) return TlsContextPtr();
    return Status(Errc::invalid_argument, "--cert-file and --key-file need --ca-file (or EZONE_TLS_CA_FILE)");
  }
  auto context = TlsContext::client(files);
  if (!context) return Status(context.status().code(), "--ca-file/--cert-file/--key-file: " + context.status().message());
  return TlsContextPtr(*context);
}

void tls_expect_host(SSL* ssl, const std::string& host) {
  ErrorCode ec;
  boost::asio::ip::make_address(host, ec);
  if (!ec) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    return;
  }
  SSL_set_tlsext_host_name(ssl, host.c_str());
  SSL_set1_host(ssl, host.c_str());
}

TlsContext::TlsContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsContext::~TlsContext() = default;

bool TlsContext::requires_client_cert() const { return impl_->client_cert; }

std::shared_ptr<boost::asio::ssl::context> TlsContext::Impl::current() const { return std::atomic_load(&context); }

Result<std::shared_ptr<TlsContext>> TlsContext::make(Role role, const TlsFiles& files) {
  auto built = build(role, files);
  if (!built) return built.status();
  auto impl = std::make_unique<Impl>();
  impl->role = role;
  impl->files = files;
  impl->client_cert = role == Role::server && !files.ca_file.empty();
  impl->context = std::move(*built);
  impl->loaded = contents(files);
  return std::shared_ptr<TlsContext>(new TlsContext(std::move(impl)));
}

Result<std::shared_ptr<TlsContext>> TlsContext::server(const TlsFiles& files) {
  if (files.cert_file.empty() || files.key_file.empty())
    return Status(Errc::invalid_argument, "a TLS server needs a certificate and its key");
  return make(Role::server, files);
}

Result<std::shared_ptr<TlsContext>> TlsContext::client(const TlsFiles& files) {
  if (files.ca_file.empty())
    return Status(Errc::invalid_argument, "a TLS client needs a CA file to check servers against");
  if (files.cert_file.empty() != files.key_file.empty())
    return Status(Errc::invalid_argument, "a TLS client certificate needs its key, and a key its certificate");
  return make(Role::client, files);
}

Result<bool> TlsContext::reload() const {
  std::lock_guard<std::mutex> lock(impl_->reload_mutex);
  const std::string now = contents(impl_->files);
  if (!now.empty() && now == impl_->loaded) return false;
  auto built = build(impl_->role, impl_->files);
  if (!built) return built.status();
  std::atomic_store(&impl_->context, std::move(*built));
  impl_->loaded = now;
  return true;
}

}  // namespace ezone::net
