add_test(NAME systemd_units
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/systemd_units_test.sh
                 $<TARGET_FILE:confvisord> ${PROJECT_SOURCE_DIR}/systemd
                 $<TARGET_FILE:confvisorctl>)
