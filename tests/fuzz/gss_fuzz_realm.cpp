// The GSS-API fuzz targets' realm: see gss_fuzz_realm.hpp.
// Heimdal's ASN.1 header declares its functions without C linkage: it comes first, wrapped.
#include <time.h>

#include <krb5-types.h>
extern "C" {
#include <krb5_asn1.h>
}
#include <krb5.h>
#include <stdlib.h>
#include <unistd.h>

#include <ctime>
#include <fstream>

#include "fuzz.hpp"
#include "gss_fuzz_realm.hpp"

namespace fuzz {

namespace {

// The ticket a KDC would issue `client` for `service`, sealed with the service's key.
void store_service_ticket(krb5_context ctx, krb5_ccache cc, krb5_principal client,
                          krb5_principal service, const krb5_keyblock& service_key) {
  krb5_keyblock session{};
  FUZZ_CHECK(krb5_generate_random_keyblock(ctx, ETYPE_AES256_CTS_HMAC_SHA1_96, &session) == 0);
  const std::time_t now = std::time(nullptr);
  const std::time_t end = now + 30L * 24 * 3600;  // outlives any fuzzing run

  EncTicketPart part{};
  part.key = session;
  part.crealm = client->realm;
  part.cname = client->name;
  part.authtime = now;
  part.endtime = end;
  void* part_der = nullptr;
  std::size_t part_len = 0, used = 0;
  int r = 0;
  ASN1_MALLOC_ENCODE(EncTicketPart, part_der, part_len, &part, &used, r);
  FUZZ_CHECK(r == 0 && used == part_len);

  krb5_crypto crypto = nullptr;
  FUZZ_CHECK(krb5_crypto_init(ctx, &service_key, ETYPE_NULL, &crypto) == 0);
  Ticket ticket{};
  ticket.tkt_vno = 5;
  ticket.realm = service->realm;
  ticket.sname = service->name;
  FUZZ_CHECK(krb5_encrypt_EncryptedData(ctx, crypto, KRB5_KU_TICKET, part_der, part_len, 1,
                                        &ticket.enc_part) == 0);
  krb5_crypto_destroy(ctx, crypto);
  std::free(part_der);
  void* ticket_der = nullptr;
  std::size_t ticket_len = 0;
  ASN1_MALLOC_ENCODE(Ticket, ticket_der, ticket_len, &ticket, &used, r);
  FUZZ_CHECK(r == 0 && used == ticket_len);
  free_EncryptedData(&ticket.enc_part);

  krb5_creds creds{};
  creds.client = client;
  creds.server = service;
  creds.session = session;
  creds.times.authtime = creds.times.starttime = now;
  creds.times.endtime = end;
  creds.ticket.data = ticket_der;
  creds.ticket.length = ticket_len;
  FUZZ_CHECK(krb5_cc_store_cred(ctx, cc, &creds) == 0);  // copies
  std::free(ticket_der);
  krb5_free_keyblock_contents(ctx, &session);
}

gss_realm make_gss_realm() {
  char dir_template[] = "/tmp/cosocks-gss-fuzz-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  FUZZ_CHECK(dir != nullptr);
  const std::string conf = std::string(dir) + "/krb5.conf";
  std::ofstream(conf) << "[libdefaults]\n\tdefault_realm = FUZZ.SOCKS\n\tdns_lookup_kdc = false\n"
                         "\tdns_lookup_realm = false\n\trdns = false\n";
  ::setenv("KRB5_CONFIG", conf.c_str(), 1);

  gss_realm realm{std::string(dir) + "/service.keytab", "FILE:" + std::string(dir) + "/ccache"};
  // The default keytab, for acceptors given no credentials,
  ::setenv("KRB5_KTNAME", ("FILE:" + realm.keytab).c_str(), 1);
  ::setenv("KRB5CCNAME", realm.ccache.c_str(), 1);  // and the default cache
  krb5_context ctx = nullptr;
  FUZZ_CHECK(krb5_init_context(&ctx) == 0);
  krb5_keytab kt = nullptr;
  FUZZ_CHECK(krb5_kt_resolve(ctx, ("FILE:" + realm.keytab).c_str(), &kt) == 0);
  krb5_keytab_entry entry{};
  FUZZ_CHECK(krb5_parse_name(ctx, gss_service, &entry.principal) == 0);
  entry.vno = 1;
  FUZZ_CHECK(krb5_generate_random_keyblock(ctx, ETYPE_AES256_CTS_HMAC_SHA1_96, &entry.keyblock) ==
             0);
  FUZZ_CHECK(krb5_kt_add_entry(ctx, kt, &entry) == 0);

  krb5_principal client = nullptr;
  FUZZ_CHECK(krb5_parse_name(ctx, gss_user, &client) == 0);
  krb5_ccache cc = nullptr;
  FUZZ_CHECK(krb5_cc_resolve(ctx, realm.ccache.c_str(), &cc) == 0);
  FUZZ_CHECK(krb5_cc_initialize(ctx, cc, client) == 0);
  store_service_ticket(ctx, cc, client, entry.principal, entry.keyblock);

  krb5_cc_close(ctx, cc);
  krb5_free_principal(ctx, client);
  krb5_kt_free_entry(ctx, &entry);
  krb5_kt_close(ctx, kt);
  krb5_free_context(ctx);
  return realm;
}

}  // namespace

const gss_realm& the_gss_realm() {
  static const gss_realm realm = make_gss_realm();
  return realm;
}

}  // namespace fuzz
