// The etcd overlay (daemon/config/overlay.hpp) in process, without etcd: where each key's value
// lands, what is refused and how the error names it (the key, its mod_revision, the JSON
// pointer, LINE:COL inside the value), and hostile keys and values.
#define BOOST_TEST_MODULE overlay
#include "daemon/config/overlay.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "common/json/depth_limit.hpp"
#include "tests/support/text_search.hpp"

using namespace confvisor;
using namespace confvisor::config;
namespace json = boost::json;
using confvisor::test::contains;

namespace {

constexpr std::string_view kPrefix = "/config/shop/";

json::value base() {
  return json::parse(
      R"({"confvisor": {"segment": "shop"}, "database": {"host": "db1", "port": 5432},
                         "features": [true, false]})");
}

OverlayResult apply(std::vector<OverlayEntry> entries, std::size_t max_size = 1 << 20) {
  return overlay(base(), kPrefix, entries, max_size);
}

json::value merged(std::vector<OverlayEntry> entries) {
  OverlayResult r = apply(std::move(entries));
  BOOST_TEST_REQUIRE(r.errors.empty(), r.errors.joined("\n"));
  return *r.document;
}

std::string only_error(std::vector<OverlayEntry> entries) {
  OverlayResult r = apply(std::move(entries));
  BOOST_TEST(!r.document.has_value());
  BOOST_TEST_REQUIRE(r.errors.size() == 1u, r.errors.joined("\n"));
  return r.errors.front();
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_key_lands_at_the_pointer_its_path_names) {
  const json::value doc = merged({{"/config/shop/database/host", R"("db2")", 7},
                                  {"/config/shop/limits/qps", "100", 8},
                                  {"/config/shop/name", R"("shop")", 9}});
  BOOST_TEST(doc.at_pointer("/database/host") == json::value("db2"));
  BOOST_TEST(doc.at_pointer("/database/port") == json::value(5432));  // the file's, kept
  BOOST_TEST(doc.at_pointer("/limits/qps") == json::value(100));      // created on the way
  BOOST_TEST(doc.at_pointer("/name") == json::value("shop"));
  BOOST_TEST(doc.at_pointer("/confvisor") == base().at("confvisor"));
}

BOOST_AUTO_TEST_CASE(a_deeper_key_overrides_part_of_a_shallower_ones_value_whatever_the_order) {
  const json::value doc = merged({{"/config/shop/limits/qps", "5", 3},
                                  {"/config/shop/limits", R"({"qps": 1, "burst": 2})", 4}});
  BOOST_TEST(doc.at("limits") == json::parse(R"({"qps": 5, "burst": 2})"));
}

BOOST_AUTO_TEST_CASE(the_key_equal_to_the_prefix_is_the_whole_base_but_confvisor) {
  const json::value doc = merged(
      {{"/config/shop/", R"({"database": {"host": "etcd-db"}})", 2}, {"/config/shop/x", "1", 3}});
  BOOST_TEST(doc == json::parse(R"({"database": {"host": "etcd-db"}, "x": 1,
                                    "confvisor": {"segment": "shop"}})"));
}

BOOST_AUTO_TEST_CASE(json_pointer_escapes_and_array_indexes) {
  const json::value doc =
      merged({{"/config/shop/a~1b/c~0d", "1", 2}, {"/config/shop/features/1", "true", 3}});
  BOOST_TEST(doc.at("a/b").at("c~d") == json::value(1));
  BOOST_TEST(doc.at("features") == json::parse("[true, true]"));
}

BOOST_AUTO_TEST_CASE(comments_and_trailing_commas_are_allowed_as_in_the_file) {
  const json::value doc = merged({{"/config/shop/limits", "// qps\n{\"qps\": 3,}", 2}});
  BOOST_TEST(doc.at_pointer("/limits/qps") == json::value(3));
}

BOOST_AUTO_TEST_CASE(keys_in_or_at_confvisor_are_refused_naming_key_revision_and_pointer) {
  for (const char* key : {"/config/shop/confvisor", "/config/shop/confvisor/workers",
                          "/config/shop/confvisor/workers/0/command"}) {
    BOOST_TEST_INFO(key);
    const std::string e = only_error({{key, R"(["/bin/sh"])", 41}});
    BOOST_TEST(contains(e, std::string("etcd key \"") + key + "\" (mod_revision 41, at /confvisor"),
               e);
    BOOST_TEST(contains(e, "nothing from etcd may land in /confvisor"), e);
  }
  const std::string root = only_error({{"/config/shop/", R"({"confvisor": {"segment": "x"}})", 5}});
  BOOST_TEST(contains(root, "(mod_revision 5, at the whole document)"), root);
  BOOST_TEST(contains(root, "nothing from etcd may land in /confvisor"), root);
  const std::string not_object = only_error({{"/config/shop/", "[1]", 6}});
  BOOST_TEST(contains(not_object, "must be a JSON object, found array"), not_object);
}

BOOST_AUTO_TEST_CASE(a_syntax_error_names_line_and_column_inside_the_value) {
  const std::string e =
      only_error({{"/config/shop/database", "{\n  \"host\": \"db\",\n  port: 1\n}", 12}});
  BOOST_TEST(
      e.starts_with("etcd key \"/config/shop/database\" (mod_revision 12, at /database):3:3: "), e);
  const std::string dup = only_error({{"/config/shop/db", R"({"a": 1, "a": 2})", 13}});
  BOOST_TEST(contains(dup, "(mod_revision 13, at /db):1:10: duplicate key \"a\""), dup);
  const std::string utf8 = only_error({{"/config/shop/db", "\"\xff\"", 14}});
  BOOST_TEST(contains(utf8, ":1:2: invalid UTF-8"), utf8);
  const std::string empty = only_error({{"/config/shop/db", "", 15}});
  BOOST_TEST(contains(empty, "(mod_revision 15, at /db):1:1: unexpected end of file"), empty);
}

BOOST_AUTO_TEST_CASE(every_bad_key_is_reported_and_nothing_is_merged) {
  const OverlayResult r = apply({{"/config/shop/a", "{", 1},
                                 {"/config/shop/b", "2", 2},
                                 {"/config/shop/confvisor/x", "3", 3}});
  BOOST_TEST(!r.document.has_value());
  BOOST_TEST(r.errors.size() == 2u, r.errors.joined("\n"));
}

BOOST_AUTO_TEST_CASE(hostile_key_paths_are_refused) {
  struct Case {
    const char* key;
    const char* why;
  };
  for (const Case& c :
       {Case{"/config/shop//x", "empty segment"}, Case{"/config/shop/x/", "empty segment"},
        Case{"/config/shop/../confvisor", "\"..\" segment"},
        Case{"/config/shop/a/./b", "\".\" segment"},
        Case{"/config/shop/a~2", "'~' not followed by 0 or 1"},
        Case{"/config/shop/a~", "'~' not followed by 0 or 1"},
        Case{"/config/shop/\xc3", "not valid UTF-8"}, Case{"/other/x", "not under the prefix"}}) {
    BOOST_TEST_INFO(c.key);
    const std::string e = only_error({{c.key, "1", 9}});
    BOOST_TEST(contains(e, "(mod_revision 9)"), e);
    BOOST_TEST(contains(e, c.why), e);
  }
  // "~1" decodes to '/', never to a second segment: "confvisor~1x" is the member "confvisor/x".
  const json::value doc = merged({{"/config/shop/confvisor~1x", "1", 2}});
  BOOST_TEST(doc.at("confvisor/x") == json::value(1));
}

BOOST_AUTO_TEST_CASE(a_key_below_a_value_that_is_not_an_object_is_refused_naming_its_origin) {
  const std::string from_etcd =
      only_error({{"/config/shop/limits", "5", 3}, {"/config/shop/limits/qps", "1", 4}});
  BOOST_TEST(
      contains(from_etcd, "etcd key \"/config/shop/limits/qps\" (mod_revision 4, at /limits/qps)"),
      from_etcd);
  BOOST_TEST(
      contains(from_etcd,
               "/limits holds number 5 (from etcd key \"/config/shop/limits\"), not an object"),
      from_etcd);
  const std::string from_file = only_error({{"/config/shop/database/port/x", "1", 5}});
  BOOST_TEST(contains(from_file, "/database/port holds number 5432 (from the file)"), from_file);
  const std::string index = only_error({{"/config/shop/features/2", "1", 6}});
  BOOST_TEST(
      contains(index,
               "/features is an array of 2 (from the file): \"2\" is not one of its indexes"),
      index);
  const std::string leading_zero = only_error({{"/config/shop/features/01", "1", 7}});
  BOOST_TEST(contains(leading_zero, "\"01\" is not one of its indexes"), leading_zero);
}

BOOST_AUTO_TEST_CASE(depth_is_bounded_by_the_config_limit_counting_the_keys_path) {
  std::string key(kPrefix);
  for (std::size_t i = 0; i < kMaxConfigDepth; ++i) key += "a/";
  key += "b";
  const std::string deep_key = only_error({{key, "1", 2}});
  BOOST_TEST(contains(deep_key, "segments deep, past the config depth limit"),
             deep_key.substr(0, 300));
  // A value nested to the limit is fine at the top and too deep one level down.
  std::string nested;
  for (std::size_t i = 0; i + 1 < kMaxConfigDepth; ++i) nested += "[";
  for (std::size_t i = 0; i + 1 < kMaxConfigDepth; ++i) nested += "]";
  BOOST_TEST(apply({{"/config/shop/x", nested, 2}}).errors.empty());
  const std::string too_deep = only_error({{"/config/shop/x/y", nested, 3}});
  BOOST_TEST(contains(too_deep, "(mod_revision 3, at /x/y):1:"), too_deep);
  BOOST_TEST(contains(too_deep, "nested deeper than"), too_deep);
}

BOOST_AUTO_TEST_CASE(values_larger_than_max_config_size_together_are_refused_unparsed) {
  const std::string big(600, ' ');
  const OverlayResult r =
      apply({{"/config/shop/a", big + "1", 2}, {"/config/shop/b", big + "2", 3}}, 1000);
  BOOST_TEST_REQUIRE(r.errors.size() == 1u);
  BOOST_TEST(contains(r.errors.front(), "add up to 1202 bytes, more than max_config_size 1000"),
             r.errors.front());
}

BOOST_AUTO_TEST_CASE(the_result_does_not_share_the_bases_memory) {
  // The file's document lives in an arena that is never freed piece by piece: a merged
  // document must not grow it at every snapshot.
  const json::value b = base();
  const OverlayResult r =
      overlay(b, kPrefix, std::vector<OverlayEntry>{{"/config/shop/x", "1", 2}}, 1 << 20);
  BOOST_TEST_REQUIRE(r.document.has_value());
  BOOST_TEST(r.document->storage().get() == json::storage_ptr().get());
}

BOOST_AUTO_TEST_CASE(no_keys_is_the_file_itself) {
  BOOST_TEST(merged({}) == base());
}
