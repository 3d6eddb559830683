// The command line of the protected-path benchmarks (gss-throughput, ssl-throughput).
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

#include "cli.hpp"

namespace bench {

struct protected_bench_options {
  std::size_t mib = 256;  // per relay figure
  std::size_t rounds = 5;
  double seconds = 2;  // per handshake figure
  bool json = false;

  std::size_t total_octets() const { return mib * 1024 * 1024; }
  // With --json the table goes to stderr, and stdout carries the JSON line alone.
  std::FILE* table() const { return json ? stderr : stdout; }
};

// Reads --mib N, --seconds S, --json, and --rounds N where `with_rounds`.
inline protected_bench_options parse_protected_bench_options(int argc, char** argv,
                                                             const std::string& name,
                                                             bool with_rounds) {
  protected_bench_options o;
  cli::arguments args(argc, argv);
  while (const auto opt = args.next()) {
    if (*opt == "--help")
      cli::usage(name + " [--mib N]" + (with_rounds ? " [--rounds N]" : "") +
                 " [--seconds S] [--json]\n");
    else if (*opt == "--json")
      o.json = true;
    else if (*opt == "--mib")
      o.mib = cli::number(args.value(), 1, 1u << 20);
    else if (with_rounds && *opt == "--rounds")
      o.rounds = cli::number(args.value(), 1, 1000);
    else if (*opt == "--seconds")
      o.seconds = cli::real(args.value(), 0.01, 1e6);
    else
      cli::fail("unknown option '{}' (see --help)", *opt);
  }
  cli::no_more(args);
  return o;
}

}  // namespace bench
