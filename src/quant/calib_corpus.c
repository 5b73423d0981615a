/*
 * calib_corpus.c — the larger part of the built-in calibration set
 * (calib_corpus.h): general English written for this project, many topics,
 * registers and lengths, from a few words to a paragraph, and sentence pairs
 * (a TAB between the two, read as the tokenizer's pair: first and second
 * segment). None of these is one of the texts `trueq compare` measures with
 * (tools/cmd_compare.c): calibration and evaluation stay disjoint.
 */
#include "quant/calib_corpus.h"

const char *const tq_calib_corpus[] = {
    /* narrative */
    "The ferry left the harbour an hour late. Most passengers stayed inside, but an old man stood at the rail the whole "
    "way across, watching the gulls follow the wake.",
    "When the power went out, the whole street came outside. Someone brought candles, someone else a guitar, and by "
    "midnight nobody wanted the lights to come back on.",
    "Tomás found the key under the third flowerpot, exactly where his aunt had said it would be, although the pot was "
    "now cracked and full of weeds.",
    "The twins argued about everything: which bus to take, whose turn it was to cook, even whether the moon looked "
    "bigger on the horizon or only seemed to.",
    "At the end of the corridor there was a door with no handle, painted the same grey as the wall.",
    "She kept every ticket stub from every concert she had ever attended in a shoebox under her bed.",
    "It snowed for three days. On the fourth morning the village woke to silence, blue sky, and drifts as high as the "
    "windows.",
    "He practised his speech in front of the mirror until the words lost all meaning.",
    "The dog waited at the gate every afternoon at four, long after the school bus had stopped coming.",
    "Nobody in the office knew who had left the plant on the reception desk, but everyone watered it.",
    /* news and public life */
    "The regional government announced on Tuesday that bus fares will be frozen for another twelve months, a move "
    "opposition parties called overdue.",
    "Firefighters brought the blaze under control shortly after dawn; no injuries were reported, although two "
    "warehouses were destroyed.",
    "Turnout in the local elections reached 41 percent, the highest figure in two decades.",
    "The central bank left interest rates unchanged at 2.75 percent and signalled that cuts could follow later in the "
    "year if wage growth slows.",
    "A new high-speed rail line will cut the journey between the two cities from five hours to just under three.",
    "Thousands of volunteers took part in the annual beach clean-up, collecting more than eight tonnes of plastic.",
    "The minister resigned after a report found that contracts had been awarded without a proper tender.",
    "Hospitals across the country reported longer waiting times this winter as flu cases rose sharply.",
    "The football club confirmed that its manager had signed a two-year extension.",
    "Authorities have closed the mountain pass until Friday because of the risk of avalanches.",
    /* science, nature, health */
    "Octopuses have three hearts and blue blood, and each of their eight arms contains a cluster of neurons that can "
    "act almost independently.",
    "Sound travels about four times faster in water than in air, which is why whales can hear each other across "
    "whole ocean basins.",
    "The human body replaces the lining of the stomach every few days, protecting it from its own digestive acid.",
    "Earthquakes are measured on a logarithmic scale, so a magnitude seven releases roughly thirty times more energy "
    "than a magnitude six.",
    "Migrating birds use the Earth's magnetic field, the position of the sun, and even the pattern of the stars to "
    "find their way.",
    "Antibiotics do not work against viruses; taking them for a cold only helps resistant bacteria spread.",
    "A teaspoon of soil can hold more living microorganisms than there are people on the planet.",
    "Light from the nearest star beyond the Sun takes a little over four years to reach us.",
    "Sleep deprivation slows reaction times about as much as drinking alcohol does.",
    "Coral reefs cover less than one percent of the ocean floor but shelter about a quarter of all marine species.",
    "The boiling point of water drops as altitude rises, so pasta takes longer to cook in the mountains.",
    "Lichens are partnerships between a fungus and an alga, and some of them grow less than a millimetre a year.",
    /* technology and computing */
    "If the build fails on a clean checkout, delete the cache directory and run the configure step again.",
    "The server returned a timeout after thirty seconds because the database was locked by a long-running "
    "migration.",
    "A hash table gives constant average lookup time, but its worst case depends on how well the keys are spread.",
    "Version 2.3 fixes a memory leak in the image decoder and adds support for right-to-left languages.",
    "Backups that have never been restored are only hopes, not backups.",
    "The laptop's battery lasts about nine hours of light use, or four hours when compiling large projects.",
    "Use a parameterised query instead of building the SQL string by hand; it prevents injection attacks.",
    "The sensor sends a reading every five seconds over a low-power radio link to the gateway in the barn.",
    "Open the settings menu, choose Privacy, and switch off location history for apps you rarely use.",
    "Warning: disk usage on /var has exceeded 90% and log rotation failed at 02:14.",
    "The neural network was trained on two million labelled images and reached 94 percent accuracy on the test set.",
    "Merge conflicts are easier to resolve when each commit changes one thing and says why.",
    /* everyday life, instructions, recipes */
    "Soak the beans overnight, drain them, then simmer with an onion, two bay leaves and a little salt for about an "
    "hour.",
    "To remove a wine stain, blot it gently, sprinkle it with salt, and rinse it with cold water before it dries.",
    "Water the seedlings in the morning so the leaves can dry before the cool evening air arrives.",
    "The recipe calls for 250 grams of butter, but you can replace half of it with yoghurt.",
    "Keep the receipt; the shop accepts returns within thirty days if the item is unused.",
    "Fold the towels in thirds, then roll them so they fit in the narrow cupboard above the sink.",
    "Before a long drive, check the tyre pressure, the oil level and the windscreen washer fluid.",
    "Mix the paint thoroughly and apply two thin coats rather than one thick one.",
    "The kettle is broken again, so we boil water in a saucepan like our grandparents did.",
    "Bring a warm jacket: even in summer the evenings by the lake get chilly.",
    /* questions */
    "How long does it take for a letter to arrive from Canada?",
    "Which is heavier, a kilogram of feathers or a kilogram of iron?",
    "Could you send me the slides from yesterday's presentation?",
    "What time does the pharmacy close on Sundays?",
    "Why is the sky blue during the day but red at sunset?",
    "Do you know anyone who can repair an old clock?",
    "Where should we meet if the trains are cancelled?",
    "Who wrote the music for that film we watched last week?",
    "Is there a vegetarian option on the menu?",
    "When did people first start keeping dogs as pets?",
    /* dialogue and informal */
    "\"Are you coming tonight?\" \"Maybe. It depends on whether I finish this report.\"",
    "Honestly, I thought the second season was better than the first, but my brother disagrees.",
    "Thanks so much for the flowers, they made my whole week!",
    "Sorry I'm late, the road was closed and the detour took forever.",
    "Ugh, the printer is jammed again. Can someone who understands it take a look?",
    "\"Do we need anything from the shop?\" \"Milk, bread, and something for dinner.\"",
    "lol no way, that's the same café we went to last summer",
    "Well, that went better than expected.",
    /* reviews and opinions */
    "The hotel room was spotless and the staff were friendly, but the walls were so thin we heard every word next "
    "door.",
    "Absolutely loved the book; I finished it in one sitting and immediately started again.",
    "The headphones sound great, although the ear cushions became uncomfortable after an hour.",
    "Terrible service: we waited forty minutes for cold soup and nobody apologised.",
    "A charming little museum, well worth an afternoon if you are in the area.",
    "The app keeps crashing whenever I try to upload a photo. Very frustrating.",
    "Not bad for the price, but I would not buy it again.",
    "The acting was wooden and the plot made no sense, yet the soundtrack was beautiful.",
    /* history, culture, places */
    "The printing press spread across Europe within a few decades, and with it cheap books, pamphlets and new ideas.",
    "Kyoto was the capital of Japan for more than a thousand years before the court moved to Tokyo.",
    "The Silk Road was never a single route but a shifting network of paths linking China to the Mediterranean.",
    "Many of the city's oldest houses were built with timber frames and filled with clay, straw and lime.",
    "In the eighteenth century, coffee houses in London served as offices, post rooms and news exchanges.",
    "The Sahara was once green, with lakes, grasslands and hippopotamuses, only about six thousand years ago.",
    "Jazz grew out of blues, ragtime and brass band music in New Orleans at the start of the twentieth century.",
    "São Paulo, Montréal, Kraków and Reykjavík were all on her list of cities to visit before she turned forty.",
    "The cathedral took almost two centuries to finish, so no one who laid its foundations saw it complete.",
    /* work, money, law, education */
    "The quarterly report shows revenue up 8 percent year on year, with most of the growth coming from subscriptions.",
    "Applicants must submit a cover letter, a CV of no more than two pages, and the names of two referees by 15 "
    "March.",
    "The tenant is responsible for minor repairs; structural work remains the landlord's obligation.",
    "Students who miss the exam for medical reasons can sit it in September.",
    "Our budget for the project is 45,000 euros, including travel and equipment.",
    "The court ruled that the clause was unfair and therefore not binding on consumers.",
    "Learning a second language as an adult is slower, but steady practice and patience work wonders.",
    "The interview went well; they said they would call by the end of next week.",
    /* sport and leisure */
    "She ran the marathon in three hours and twelve minutes, beating her personal best by almost ten minutes.",
    "The chess match ended in a draw after six hours and 87 moves.",
    "Rain delayed the final set, but the crowd stayed and cheered every point.",
    "We spent the weekend kayaking along the coast and camping on a tiny island.",
    "The local team has not won the league since 1994.",
    /* lists, numbers, short fragments */
    "Ingredients: flour, eggs, milk, a pinch of salt, butter for the pan.",
    "Monday: dentist at 9. Tuesday: call the bank. Wednesday: Ana's birthday.",
    "Room 214, second floor, turn right after the lifts.",
    "Total: 3 items, 27.40 USD, paid by card.",
    "Chapter 7 - The Long Way Home",
    "Open daily 10:00-18:00, closed on public holidays.",
    "Population 1.2 million; area 780 square kilometres; founded in 1213.",
    "Flight BA 2491 to Lisbon is now boarding at gate 31.",
    "Yes.",
    "Good morning, everyone.",
    /* sentence pairs (premise TAB hypothesis) */
    "A woman is slicing tomatoes in a kitchen.\tSomeone is preparing food.",
    "Three boys are playing football in the rain.\tThe children are indoors watching television.",
    "The museum will reopen after renovations next spring.\tThe museum is currently closed.",
    "An elderly couple is dancing at a wedding.\tTwo people are dancing.",
    "The train was cancelled because of a signal failure.\tThe train left exactly on schedule.",
    "A cyclist is climbing a steep mountain road.\tA person is riding a bicycle uphill.",
    "The new policy applies only to full-time employees.\tPart-time staff are also covered by the policy.",
    "A girl is feeding ducks at the edge of a pond.\tA child is near the water.",
    "The scientist published her results in a leading journal.\tThe research was never made public.",
    "Several people are waiting at a bus stop in the snow.\tIt is cold outside.",
    "The band cancelled its tour due to illness.\tThe concerts will go ahead as planned.",
    "A man in a red jacket is fixing a bicycle tyre.\tSomeone is repairing a bike.",
};

const int tq_calib_corpus_n = (int)(sizeof tq_calib_corpus / sizeof tq_calib_corpus[0]);
