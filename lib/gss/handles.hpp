// RAII owners for every GSS-API and krb5 handle the library touches.
#pragma once

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "socks5/wire/buffer.hpp"

namespace socks5::gss {

// GSS major/minor status as an error: the mechanism's (minor) code when there is one, as it
// says more ("Server not found in Kerberos database"), otherwise the GSS routine error.
std::error_code make_error(OM_uint32 major, OM_uint32 minor);
// A krb5 library error code (same category as GSS minor codes).
std::error_code make_krb5_error(krb5_error_code code);

// A buffer the GSS library allocated (output tokens, display names).
class buffer {
 public:
  buffer() = default;
  buffer(const buffer&) = delete;
  buffer& operator=(const buffer&) = delete;
  ~buffer() { reset(); }
  gss_buffer_t get() noexcept { return &b_; }
  wire::bytes_view view() const noexcept {
    return {static_cast<const wire::byte*>(b_.value), b_.length};
  }
  std::string str() const { return {static_cast<const char*>(b_.value), b_.length}; }
  bool empty() const noexcept { return b_.length == 0; }
  void reset() noexcept {
    OM_uint32 minor;
    if (b_.value) gss_release_buffer(&minor, &b_);
    b_ = GSS_C_EMPTY_BUFFER;
  }

 private:
  gss_buffer_desc b_ = GSS_C_EMPTY_BUFFER;
};

// Input buffers point at memory we own; the library only reads them.
inline gss_buffer_desc input(wire::bytes_view v) noexcept {
  return {v.size(), const_cast<wire::byte*>(v.data())};
}

class name {
 public:
  name() = default;
  name(name&& o) noexcept : n_(std::exchange(o.n_, GSS_C_NO_NAME)) {}
  name& operator=(name&& o) noexcept {
    std::swap(n_, o.n_);
    return *this;
  }
  ~name() {
    OM_uint32 minor;
    if (n_ != GSS_C_NO_NAME) gss_release_name(&minor, &n_);
  }
  gss_name_t get() const noexcept { return n_; }
  gss_name_t* out() noexcept { return &n_; }

 private:
  gss_name_t n_ = GSS_C_NO_NAME;
};

class credentials {
 public:
  credentials() = default;
  credentials(credentials&& o) noexcept : c_(std::exchange(o.c_, GSS_C_NO_CREDENTIAL)) {}
  credentials& operator=(credentials&& o) noexcept {
    std::swap(c_, o.c_);
    return *this;
  }
  ~credentials() {
    OM_uint32 minor;
    if (c_ != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &c_);
  }
  gss_cred_id_t get() const noexcept { return c_; }
  gss_cred_id_t* out() noexcept { return &c_; }

 private:
  gss_cred_id_t c_ = GSS_C_NO_CREDENTIAL;
};

// A security context; deleted (gss_delete_sec_context) with its owner.
class context {
 public:
  context() = default;
  context(context&& o) noexcept : c_(std::exchange(o.c_, GSS_C_NO_CONTEXT)) {}
  context& operator=(context&& o) noexcept {
    std::swap(c_, o.c_);
    return *this;
  }
  ~context() {
    OM_uint32 minor;
    if (c_ != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &c_, GSS_C_NO_BUFFER);
  }
  gss_ctx_id_t get() const noexcept { return c_; }
  gss_ctx_id_t* out() noexcept { return &c_; }

 private:
  gss_ctx_id_t c_ = GSS_C_NO_CONTEXT;
};

// krb5 objects, each with its context.
struct krb5_context_deleter {
  void operator()(krb5_context c) const noexcept { krb5_free_context(c); }
};
using krb5_context_ptr = std::unique_ptr<std::remove_pointer_t<krb5_context>, krb5_context_deleter>;

class krb5_ccache_ptr {
 public:
  krb5_ccache_ptr(krb5_context c, krb5_ccache cc) noexcept : ctx_(c), cc_(cc) {}
  krb5_ccache_ptr(const krb5_ccache_ptr&) = delete;
  ~krb5_ccache_ptr() {
    if (cc_) krb5_cc_close(ctx_, cc_);
  }
  krb5_ccache get() const noexcept { return cc_; }

 private:
  krb5_context ctx_;
  krb5_ccache cc_;
};

class krb5_keytab_ptr {
 public:
  krb5_keytab_ptr(krb5_context c, krb5_keytab kt) noexcept : ctx_(c), kt_(kt) {}
  krb5_keytab_ptr(const krb5_keytab_ptr&) = delete;
  ~krb5_keytab_ptr() {
    if (kt_) krb5_kt_close(ctx_, kt_);
  }
  krb5_keytab get() const noexcept { return kt_; }

 private:
  krb5_context ctx_;
  krb5_keytab kt_;
};

class krb5_principal_ptr {
 public:
  krb5_principal_ptr(krb5_context c, krb5_principal p) noexcept : ctx_(c), p_(p) {}
  krb5_principal_ptr(const krb5_principal_ptr&) = delete;
  ~krb5_principal_ptr() {
    if (p_) krb5_free_principal(ctx_, p_);
  }
  krb5_principal get() const noexcept { return p_; }

 private:
  krb5_context ctx_;
  krb5_principal p_;
};

}  // namespace socks5::gss

namespace socks5::detail {

// An established context, shared by what protects with it (the stream, later UDP).
struct gss_shared_context {
  gss::context context;
};

}  // namespace socks5::detail
