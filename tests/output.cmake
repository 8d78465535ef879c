# Workers' output as the real daemon logs it: the rate limit and the escaping of hostile bytes.
confvisor_test(output_test)
add_dependencies(output_test confvisord)
