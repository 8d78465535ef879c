# Damage to the segment under the real daemon and reader processes (truncation, corruption,
# a full /dev/shm in a private mount namespace).
confvisor_test(segment_damage_test)
add_dependencies(segment_damage_test confvisord)
