// Included first by the base public headers (error.hpp, auth/method.hpp): checks the language.
#pragma once

// cosocks uses concepts, coroutines and std::span. GCC 10 reports C++20 as 201709L, so
// anything newer than C++17 is accepted; MSVC reports the standard in _MSVC_LANG.
#if defined(_MSVC_LANG) && _MSVC_LANG > __cplusplus
#define SOCKS5_DETAIL_CPLUSPLUS _MSVC_LANG
#else
#define SOCKS5_DETAIL_CPLUSPLUS __cplusplus
#endif
#if SOCKS5_DETAIL_CPLUSPLUS <= 201703L
#error "cosocks needs C++20"
#endif
#undef SOCKS5_DETAIL_CPLUSPLUS
