"""The standard emoji names reactions.add / reactions.remove accept (with the workspace's custom emoji from
emoji.list): a name outside both is `invalid_name`, as Slack answers.

[unc] Slack's standard set (iamcal/emoji-data short names, ~1,900 with aliases) is larger than this list of
the commonly used ones; a real standard name missing here is answered invalid_name by the sandbox only.
A skin tone (`name::skin-tone-2` .. `-6`) is accepted on any standard name.
"""

from __future__ import annotations

_NAMES = """
+1 -1 thumbsup thumbsdown ok_hand clap wave raised_hands pray muscle point_up point_down point_left point_right
raised_hand hand v crossed_fingers handshake writing_hand punch facepunch fist metal call_me_hand open_hands
white_check_mark heavy_check_mark ballot_box_with_check x heavy_multiplication_x negative_squared_cross_mark
warning rotating_light no_entry no_entry_sign stop_sign exclamation heavy_exclamation_mark question grey_question
grey_exclamation bangbang interrobang information_source sos new up cool free ok ng heavy_plus_sign
heavy_minus_sign heavy_division_sign repeat arrows_counterclockwise arrow_up arrow_down arrow_left arrow_right
arrow_forward arrow_backward arrow_heading_up arrow_heading_down leftwards_arrow_with_hook arrow_right_hook
eyes eye fire tada confetti_ball sparkles star star2 dizzy boom zap sunny cloud umbrella snowflake rainbow
rocket airplane car bus train ship anchor hourglass hourglass_flowing_sand alarm_clock stopwatch timer_clock
watch calendar date spiral_calendar_pad clipboard pushpin round_pushpin paperclip link lock unlock key
old_key closed_lock_with_key bell no_bell loudspeaker mega speech_balloon thought_balloon memo pencil pencil2
page_facing_up page_with_curl bookmark_tabs bookmark books book notebook ledger file_folder open_file_folder
card_index chart_with_upwards_trend chart_with_downwards_trend bar_chart inbox_tray outbox_tray package
email envelope incoming_envelope e-mail mailbox wastebasket wrench hammer hammer_and_wrench gear nut_and_bolt
shield bug ant beetle computer desktop_computer keyboard floppy_disk cd dvd printer mag mag_right bulb
flashlight moneybag dollar credit_card gem trophy medal first_place_medal second_place_medal third_place_medal
sports_medal crown ribbon gift balloon birthday cake coffee tea beer beers wine_glass cocktail pizza hamburger
smile smiley grinning grin laughing satisfied joy rofl slightly_smiling_face upside_down_face wink blush
innocent heart_eyes kissing_heart relaxed yum stuck_out_tongue stuck_out_tongue_winking_eye sunglasses nerd_face
smirk unamused disappointed pensive worried confused slightly_frowning_face white_frowning_face persevere
confounded tired_face weary cry sob triumph angry rage exploding_head flushed scream fearful cold_sweat
disappointed_relieved sweat hugging_face thinking_face shushing_face face_with_hand_over_mouth lying_face
neutral_face expressionless no_mouth face_with_rolling_eyes grimacing relieved sleepy sleeping mask
face_with_thermometer face_with_head_bandage nauseated_face sneezing_face partying_face woozy_face
face_palm facepalm shrug man-shrugging woman-shrugging man-facepalming woman-facepalming see_no_evil
hear_no_evil speak_no_evil skull skull_and_crossbones ghost alien robot_face poop hankey smiley_cat
heart red_heart orange_heart yellow_heart green_heart blue_heart purple_heart black_heart white_heart
broken_heart heartpulse sparkling_heart two_hearts 100 hundred_points
red_circle large_orange_circle large_yellow_circle large_green_circle large_blue_circle large_purple_circle
black_circle white_circle radio_button large_red_square large_orange_square large_yellow_square
large_green_square large_blue_square large_purple_square black_large_square white_large_square
small_red_triangle small_red_triangle_down large_orange_diamond large_blue_diamond small_orange_diamond
small_blue_diamond white_square_button black_square_button checkered_flag triangular_flag_on_post
waving_white_flag waving_black_flag construction building_construction house office hospital bank
globe_with_meridians earth_americas earth_africa earth_asia world_map satellite satellite_antenna
telephone phone iphone calling battery electric_plug signal_strength vibration_mode mobile_phone_off
lightning cyclone fog ocean volcano mountain tent seedling evergreen_tree deciduous_tree cactus herb
four_leaf_clover maple_leaf fallen_leaf leaves mushroom sunflower rose tulip blossom cherry_blossom bouquet
dog cat mouse hamster rabbit fox_face bear panda_face koala tiger lion_face cow pig frog monkey_face
see_no_evil chicken penguin bird baby_chick owl eagle duck turtle snake dragon whale dolphin fish octopus
snail butterfly bee honeybee lady_beetle spider spider_web
one two three four five six seven eight nine keycap_ten zero hash asterisk
a b ab cl o2 id vs abc abcd capital_abcd 1234 symbols
hourglass_done loading muscle_tone ninja detective guardsman construction_worker cop police_officer
man woman boy girl baby older_man older_woman person_frowning raising_hand ok_woman no_good bow
thumbs_up thumbs_down heavy_heart_exclamation_mark_ornament recycle trident_emblem beginner
white_flower japanese_ogre japanese_goblin jack_o_lantern christmas_tree fireworks sparkler
new_moon full_moon crescent_moon sun_with_face partly_sunny thunder_cloud_and_rain snowman
running walking dancer runner bicyclist swimmer surfer golf soccer basketball football baseball tennis
dart bowling video_game game_die jigsaw chess_pawn slot_machine art performing_arts clapper movie_camera
camera camera_with_flash video_camera tv radio musical_note notes microphone headphones guitar
label bookmark_tab ticket admission_tickets scroll receipt shopping_trolley shopping_bags
lock_with_ink_pen bellhop_bell door bed couch_and_lamp toilet shower bathtub broom basket soap
pill syringe dna microscope telescope test_tube petri_dish abacus magnet toolbox ladder axe pick
chains hook crossed_swords dagger_knife gun bow_and_arrow coffin urn amphora crystal_ball
hourglass_not_done speech_left left_speech_bubble right_anger_bubble zzz sweat_drops droplet dash
man-raising-hand woman-raising-hand man-gesturing-ok woman-gesturing-ok man-bowing woman-bowing
lower_left_ballpoint_pen lower_left_fountain_pen lower_left_crayon lower_left_paintbrush pen crayon
paperclips linked_paperclips straight_ruler triangular_ruler scissors card_file_box file_cabinet
spiral_note_pad spiral_notepad newspaper rolled_up_newspaper label id_card identification_card
arrows_clockwise rewind fast_forward double_vertical_bar black_right_pointing_double_triangle_with_vertical_bar
pause_button play_or_pause_button stop_button record_button eject soon on top back end
white_circle_with_check heavy_dollar_sign currency_exchange chart yen pound euro money_with_wings
"""

STANDARD: frozenset[str] = frozenset(_NAMES.split())
