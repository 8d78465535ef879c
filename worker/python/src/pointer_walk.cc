#include "worker/python/src/pointer_walk.hpp"

namespace confvisor::python {

namespace json = boost::json;

bool next_token(std::string_view& rest, std::string& token) {
  // rest starts just after a '/'.
  token.clear();
  std::size_t i = 0;
  for (; i < rest.size() && rest[i] != '/'; ++i) {
    if (rest[i] != '~') {
      token.push_back(rest[i]);
      continue;
    }
    if (i + 1 >= rest.size() || (rest[i + 1] != '0' && rest[i + 1] != '1')) return false;
    token.push_back(rest[i + 1] == '0' ? '~' : '/');
    ++i;
  }
  rest.remove_prefix(i);
  return true;
}

bool parse_index(std::string_view token, std::size_t& index) {
  if (token.empty() || token.size() > 18 || (token.size() > 1 && token[0] == '0')) return false;
  index = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
    index = index * 10 + static_cast<std::size_t>(c - '0');
  }
  return true;
}

WalkResult walk(const json::value& root, std::string_view pointer) {
  WalkResult r;
  r.value = &root;
  if (!pointer.empty() && pointer[0] != '/') {
    r.outcome = WalkOutcome::invalid_pointer;
    return r;
  }
  std::string_view rest = pointer;
  while (!rest.empty()) {
    const std::size_t prefix = pointer.size() - rest.size();
    rest.remove_prefix(1);  // the '/'
    if (!next_token(rest, r.token)) {
      r.outcome = WalkOutcome::invalid_pointer;
      return r;
    }
    const json::value& here = *r.value;
    r.failed_at = prefix;
    if (const json::object* o = here.if_object()) {
      auto it = o->find(r.token);
      if (it == o->end()) {
        r.outcome = WalkOutcome::not_found;
        return r;
      }
      r.value = &it->value();
    } else if (const json::array* a = here.if_array()) {
      std::size_t index = 0;
      if (r.token != "-" && !parse_index(r.token, index)) {
        r.outcome = WalkOutcome::wrong_type;
        return r;
      }
      if (r.token == "-" || index >= a->size()) {
        r.outcome = WalkOutcome::not_found;
        return r;
      }
      r.value = &(*a)[index];
    } else {
      r.outcome = WalkOutcome::wrong_type;
      return r;
    }
  }
  return r;
}

}  // namespace confvisor::python
