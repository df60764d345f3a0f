# Messages of the bot in Russian. Arguments marked $ are filled in by the bot; text
# arguments are escaped for Telegram's HTML.

## Commands in Telegram's menu
cmd-start = Начать
cmd-balance = Баланс и операции
cmd-status = Где мой заказ
cmd-orders = Мои заказы
cmd-help = Что умеет бот
cmd-language = Язык / Language
cmd-privacy = Обработка данных
cmd-logout = Выйти из кабинета
cmd-forget = Удалить мои данные
cmd-notifications = Уведомления

## Onboarding and consent
consent-request =
    Здравствуйте! Это ваш личный кабинет в Telegram: баланс, заказы и документы в пару касаний.

    Чтобы узнать вас, нам понадобится ваш номер телефона. Нажимая «Принимаю», вы разрешаете обрабатывать номер телефона и переписку с ботом для обслуживания. Подробнее: <a href="{ $url }">условия обработки данных</a>.
consent-button = Принимаю
consent-thanks = Спасибо! Теперь нажмите кнопку «Поделиться номером» внизу — так мы найдём ваш кабинет.
contact-button = Поделиться номером
onboarding-ask-contact = Чтобы продолжить, нажмите кнопку «Поделиться номером» внизу экрана.
contact-typed = Номер, набранный текстом, мы принять не можем: нажмите кнопку «Поделиться номером» — так Telegram подтвердит, что номер ваш.
contact-not-own = Мы можем принять только ваш собственный номер. Нажмите кнопку «Поделиться номером» внизу экрана.
contact-invalid = Не получилось прочитать этот номер. Нажмите кнопку «Поделиться номером» ещё раз.
contact-not-found = К сожалению, клиента с этим номером мы не нашли. Мы передали ваш запрос специалисту — с вами свяжутся. Если вы клиент под другим номером, обратитесь в поддержку.
identified = Здравствуйте, { $name }! Мы нашли ваш кабинет.
already-bound = { $name }, вы уже вошли в кабинет.
menu-prompt = Чем можем помочь?
staff-new-lead = Новый запрос доступа: { $name }, телефон { $phone } (Telegram id { $user }). Клиент с этим номером не найден.

## Main menu
menu-balance = 💰 Баланс
menu-order-status = 📦 Где мой заказ
menu-order-history = 🧾 Мои заказы
menu-help = ❓ Помощь
menu-documents = 📄 Документы
menu-subscription = 📶 Мой тариф

## Small talk
greeting = Здравствуйте, { $name }! Чем помочь?
help-intro = Вот что мы умеем:
help-balance = • показать баланс, следующее списание и последние операции — «баланс»
help-order = • рассказать, где ваш заказ — «где мой заказ?» или «что с заказом 78234»
help-orders = • показать историю заказов — «мои заказы» — и повторить заказ — «повтори последний заказ»
help-orders-no-repeat = • показать историю заказов — «мои заказы»
help-documents = • прислать документ — «пришли акт за декабрь», «чек за февраль», «договор»
help-top-up = • пополнить счёт — «пополнить»
help-plan = • сменить тариф, приостановить подписку, подключить опцию — «сменить тариф»
help-loyalty = • бонусы, персональное предложение и ссылка для друзей — «мои бонусы», «приведи друга»
help-booking = • записать на услугу, перенести или отменить запись — «хочу записаться на стрижку», «мои записи»
help-commands = Команды: { $commands }.
capability-absent = Этого в чате нет — вот что мы можем:
thanks-reply = Пожалуйста! Обращайтесь 🙂
unknown = Мы не совсем поняли. Попробуйте сказать иначе или выберите, что вас интересует:
operator = Похоже, в чате мы с этим не поможем. Служба поддержки отвечает ежедневно, { $hours } — напишите, что случилось, и специалист ответит в рабочее время.
unsupported-content = Мы понимаем текст и кнопки. Напишите, пожалуйста, словами, что вас интересует.
error-too-long = Сообщение слишком длинное. Напишите, пожалуйста, короче — в одном-двух предложениях.
error-unavailable = Система сейчас не отвечает. Попробуйте, пожалуйста, через минуту.
error-internal = Что-то пошло не так. Попробуйте, пожалуйста, ещё раз чуть позже.
button-inactive = Эта кнопка больше не активна.

## Privacy, language, logout
privacy =
    Мы храним ваш номер телефона, привязку к Telegram, согласие на обработку данных и переписку с ботом (180 дней) — только для обслуживания. Полный текст условий (версия { $version }): { $url }

    Удалить эти данные: /forget. Выйти из кабинета: /logout.
forget-done = Готово: мы удалили привязку к кабинету, согласие, состояние диалога и историю переписки. Данные в системах компании это не затрагивает. Чтобы начать заново, отправьте /start.
logout-done = Вы вышли из кабинета. Чтобы войти снова, отправьте /start.
binding-replaced = Ваш номер телефона только что подтвердили в другом аккаунте Telegram, поэтому этот чат больше не связан с вашим кабинетом. Если номер ваш, отправьте /start и поделитесь им снова.
logout-not-bound = Вы ещё не вошли в кабинет. Отправьте /start, чтобы начать.
language-choose = Выберите язык / Choose your language:
language-ru = Русский
language-en = English
language-switched = Готово, теперь общаемся по-русски.

## Balance
balance-title = 💰 Ваш баланс: <b>{ $balance }</b>
balance-next-charge = Следующее списание: { $amount } (тариф «{ $tariff }») { $date }.
balance-next-charge-no-tariff = Следующее списание: { $amount } { $date }.
balance-days-left = При текущем тарифе хватит примерно на { $days } { $days ->
        [one] день
        [few] дня
       *[many] дней
    }.
balance-bonus = Бонусные баллы: { $points_text }
balance-operations = Последние операции:
balance-operation = { $date } · { $amount } · { $title }
balance-top-up-button = Пополнить
balance-no-account = Мы не нашли лицевого счёта в вашем кабинете. Если это ошибка, обратитесь в поддержку.
bonuses = У вас { $points_text } { $points ->
        [one] бонусный балл
        [few] бонусных балла
       *[many] бонусных баллов
    }.

## Orders
order-status-new = принят
order-status-assembling = собирается
order-status-in-transit = в пути
order-status-delivered = доставлен
order-status-cancelled = отменён
order-status-other = { $status }
order-card-title = 📦 <b>Заказ №{ $number }</b> от { $date } — { $status }
order-tracking = Трек-номер: { $tracking } ({ $carrier })
order-window = Доставка: { $window }
order-courier = Курьер: { $name }, { $phone }
order-delivered-at = Доставлен { $date }
order-map-button = 📍 Показать на карте
order-details-button = Подробнее
order-no-location = Местоположение курьера пока неизвестно.
order-not-found = Мы не нашли такой заказ. Проверьте, пожалуйста, номер: { $number }.
orders-none-active = Активных заказов сейчас нет.
order-cancel-ask = Отменить заказ №{ $number } от { $date } на { $total }? Сейчас он { $status }.
order-cancel-yes-button = Да, отменить
order-cancel-done = Заказ №{ $number } отменён. Если он был оплачен, деньги вернутся тем же способом.
order-cancel-already = Заказ №{ $number } уже отменён.
order-cancel-too-late = Заказ №{ $number } уже { $status }, поэтому отменить его в чате нельзя. Передать просьбу сотруднику?
order-cancel-unsupported = Заказ №{ $number } отменяет сотрудник. Передать ему просьбу?
order-cancel-not-active = Заказ №{ $number } уже { $status } — отменять нечего.
order-cancel-person-button = 🙋 Передать сотруднику
order-cancel-choose = Какой заказ отменить?
order-cancel-choice = №{ $number } от { $date }
order-cancel-none = Сейчас нет заказов, которые можно отменить.
orders-none = У вас пока нет заказов.
orders-history-title = 🧾 Ваши заказы ({ $from }–{ $to } из { $total }):
orders-history-line = №{ $number } · { $date } · { $total } · { $status }
order-open-button = Заказ №{ $number }
page-previous = ‹ Назад
page-next = Дальше ›
orders-back-button = ‹ К списку заказов
order-items = Состав:
order-item = • { $name } × { $qty } — { $price }
order-total = Итого: <b>{ $total }</b>
order-address = Адрес доставки: { $address }

## "Did you mean…?"
clarify = Вы имели в виду…?
intent-balance = 💰 Баланс
intent-bonuses = 🎁 Бонусы
intent-top-up = 💳 Пополнить счёт
intent-order-status = 📦 Где мой заказ
intent-order-history = 🧾 Мои заказы
intent-repeat-order = 🔁 Повторить заказ
intent-documents = 📄 Документы
intent-booking = 📅 Записаться
intent-booking-list = 📅 Мои записи
intent-booking-reschedule = 🔄 Перенести запись
intent-booking-cancel = ✖️ Отменить запись
intent-subscription = ⚙️ Тариф и услуги
intent-offers = 🏷 Акции и скидки
intent-referral = 🤝 Пригласить друга
intent-notifications = 🔔 Уведомления
intent-operator = 🙋 Связаться с поддержкой
intent-privacy = 🔒 Мои данные
intent-language = 🌐 Язык
intent-help = ❓ Что умеет бот
intent-greeting = 👋 Поздороваться
intent-thanks = 🙏 Сказать спасибо
intent-order-cancel = 🚫 Отменить заказ
intent-faq = ℹ️ О нас
intent-unknown = ❔ Не понято

## Documents
documents-future = За { $period } документов ещё нет — этот месяц ещё не наступил.
documents-none-at-all = В вашем кабинете пока нет документов.
documents-none = Мы не нашли { $what }. Вот какие документы есть:
documents-several = Мы нашли несколько документов. Какой прислать?
document-not-found = Мы не нашли такого документа среди ваших.
doc-kind-any = документов
doc-kinds-act = актов
doc-kinds-invoice = счетов
doc-kinds-receipt = чеков
doc-kinds-contract = договоров
doc-kinds-statement = выписок
documents-what-period = { $kind } за { $period }
pdf-number-date = № { $number } от { $date }
pdf-seller = Исполнитель
pdf-seller-receipt = Получатель платежа
pdf-buyer = Заказчик
pdf-account = Лицевой счёт: { $account }
pdf-col-description = Наименование
pdf-col-qty = Кол-во
pdf-col-price = Цена
pdf-col-amount = Сумма
pdf-total = Итого
pdf-note-act = Услуги за { $period } оказаны полностью и в срок. Заказчик претензий по объёму, качеству и срокам не имеет.
pdf-note-invoice = Счёт за { $period }. Оплатите, пожалуйста, до даты следующего списания; при оплате укажите номер лицевого счёта.
pdf-note-receipt = Платёж за { $period } получен. Спасибо!
pdf-note-contract = Договор действует с { $period } до расторжения одной из сторон. Тариф и опции можно сменить в чате.
pdf-note-statement = Выписка по лицевому счёту за { $period }.
pdf-footer = { $business } · документ сформирован { $date }

## Repeat order and offers
repeat-nothing = У вас пока нет доставленных заказов, которые можно повторить.
repeat-heading = Повторить заказ №{ $number } от { $date }? Цены — на сегодня:
repeat-last-heading = Повторяем последний доставленный заказ — №{ $number } от { $date }. Цены — на сегодня:
repeat-newest-offer = Самый новый ваш заказ — №{ $number } от { $date }, он { $status }. Можно повторить его вместо этого.
repeat-newest-button = 🔁 Повторить №{ $number }
offer-order-heading = Оформить заказ? Цена — на сегодня:
repeat-out-of-stock = Нет в наличии, в заказ не войдёт: { $items }
repeat-all-out-of-stock = К сожалению, всё из этого заказа сейчас закончилось.
repeat-confirm-button = ✅ Оформить заказ
cancel-button = Отмена
confirm-button = ✅ Подтвердить
repeat-placed = Заказ №{ $number } оформлен на { $total }. Следить за ним можно командой /status.
repeat-already-placed = Этот заказ уже оформлен: №{ $number }.
draft-stale = Это подтверждение уже неактуально. Начните, пожалуйста, заново.
repeat-sold-out-meanwhile = Пока вы решали, закончилось: { $items }. Заказ не оформлен — попробуйте повторить его ещё раз.
repeat-cancelled = Хорошо, заказ не оформляем.
order-repeat-button = 🔁 Повторить
order-documents-button = 📄 Документы

## Top-up
top-up-ask = На какую сумму пополнить счёт? Выберите или напишите сумму цифрами.
top-up-not-a-number = Напишите, пожалуйста, сумму цифрами — например, 2500 — или «отмена».
top-up-not-positive = Сумма должна быть больше нуля.
top-up-too-small = Минимальная сумма пополнения — { $min }.
top-up-too-large = Это слишком большая сумма: за один раз можно пополнить не больше чем на { $max }.
top-up-pay-button = 💳 Оплатить { $amount }
top-up-invoice-title = Пополнение счёта
top-up-invoice-description = Пополнение лицевого счёта { $account }
top-up-link = Пополнение на { $amount }: нажмите кнопку, чтобы перейти к оплате. Деньги поступят на счёт сразу после оплаты.
top-up-declined = Этот счёт уже оплачен или устарел. Запросите, пожалуйста, новый: «пополнить».
top-up-unknown-payment = Платёж получен, но мы не нашли, к какому пополнению он относится. Мы проверим и зачислим его вручную.
top-up-paid = ✅ Оплачено: { $amount }. Баланс: { $balance }.
top-up-already-credited = Этот платёж уже зачислен.
top-up-cancelled = Хорошо, пополнение отменено.

## Step-up verification
otp-sent = Для подтверждения мы отправили код на номер { $phone }. Введите его здесь — код действует { $minutes } мин.
otp-resend-button = Отправить код ещё раз
otp-wrong = Код неверный. { $left ->
        [one] Осталась { $left } попытка.
        [few] Осталось { $left } попытки.
       *[many] Осталось { $left } попыток.
    }
otp-locked-now = Код неверный, и попытки закончились. Изменения заблокированы на { $minutes } мин.
otp-locked = Слишком много неверных кодов. Попробуйте, пожалуйста, через { $minutes } мин.
otp-expired = Срок действия кода истёк. Отправить новый?
otp-remind = Введите, пожалуйста, код из SMS или нажмите «Отмена».
otp-wait-seconds = Новый код можно запросить через { $seconds } с.
otp-wait-until = Вы уже запросили несколько кодов за этот час. Новый код можно запросить в { $time }.

## Subscription
subscription-none = У вас нет подписки, которую можно изменить.
subscription-overview =
    Ваш тариф: <b>«{ $tariff }»</b> — { $tariff_fee } в месяц.
    Опции: { $options }.
    Ежемесячная плата: <b>{ $monthly }</b>.
subscription-no-options = нет
subscription-paused = ⏸ Подписка приостановлена.
subscription-change-button = Сменить тариф
subscription-add-option-button = ➕ { $option } (+{ $fee } в месяц)
subscription-remove-option-button = ➖ Отключить { $option }
subscription-pause-button = ⏸ Приостановить
subscription-resume-button = ▶️ Возобновить
subscription-choose-tariff = Выберите тариф:
subscription-tariff = { $name } — { $fee } в месяц
subscription-tariff-current = { $name } — { $fee } в месяц (ваш)
subscription-all-options-on = Все опции уже подключены.
subscription-no-options-to-remove = У вас нет подключённых опций.
subscription-choose-option-add = Какую опцию подключить?
subscription-choose-option-remove = Какую опцию отключить?
subscription-quote = { $change }: ежемесячная плата составит <b>{ $fee }</b> с { $date }. Подтвердить?
change-tariff = Переход на тариф «{ $name }»
change-add-option = Подключение опции «{ $name }»
change-remove-option = Отключение опции «{ $name }»
change-pause = Приостановка подписки
change-resume = Возобновление подписки
change-refused-same-tariff = Этот тариф у вас уже подключён — менять нечего.
change-refused-unknown = Такого тарифа или опции нет. Выберите, пожалуйста, из списка: «сменить тариф».
change-refused-option-present = Эта опция у вас уже подключена.
change-refused-option-absent = Эта опция у вас не подключена.
change-refused-already-paused = Подписка уже приостановлена.
change-refused-not-paused = Подписка и так активна.
subscription-done = ✅ Готово. { $change }: ежемесячная плата { $fee } с { $date }.
subscription-cancelled = Хорошо, ничего не меняем.

## Bonuses, offers, referral
offers-button = 🎁 Предложение для вас
referral-button = 🤝 Пригласить друга
offer = Персональное предложение: { $text }
offer-order-button = 🛒 Заказать
offers-none = Сейчас персональных предложений для вас нет. Загляните позже!
referral-link =
    Ваша ссылка для друзей: { $link }
    Когда друг перейдёт по ней и подтвердит номер телефона, вы получите бонусные баллы.
referral-credited = 🎉 Ваш друг присоединился по вашей ссылке. Начислено { $points_text } { $points ->
        [one] бонусный балл
        [few] бонусных балла
       *[many] бонусных баллов
    }.

## Booking
booking-ask-service = На какую услугу записать?
booking-service-button = { $name } — { $price }
booking-unknown-service = Такой услуги у нас нет. Выберите, пожалуйста, из списка: «записаться».
booking-regular-staff = Ваш постоянный мастер — { $name }.
booking-free = Свободно: { $times }.
booking-staff-busy = У мастера { $name } в это время всё занято — вот время других мастеров.
booking-free-from = Свободно после { $from }: { $times }.
booking-or-write = Выберите время или напишите удобное — например, «в понедельник после 15».
booking-and = и
booking-day-times = { $day } в { $times }
booking-no-slots = Свободного времени в ближайшие дни нет. Напишите другой день или позовите оператора.
booking-nearest = Ближайшее свободное: { $times }.
booking-in-past = Это время уже прошло.
booking-day-off = { $day } мы не работаем.
booking-outside-hours = В это время мы закрыты: работаем с { $open } до { $close }.
booking-day-full = На { $day } свободного времени нет.
booking-taken = { $day } в { $time } уже занято.
booking-time-not-understood = Мы не поняли время. Напишите, например, «завтра в 15:00» или «20.01 в 14:00», или выберите из кнопок выше.
booking-summary = { $service }, мастер { $staff }: { $day } в { $time }, { $minutes } мин, { $price }. Записать?
booking-confirm-button = ✅ Записаться
booking-move-summary = Перенести запись «{ $service }» с { $old } на { $day } в { $time }, мастер { $staff }?
booking-move-button = ✅ Перенести
booking-done = ✅ Вы записаны: { $service }, мастер { $staff }, { $date } в { $time }.
booking-moved = ✅ Запись перенесена: { $service }, мастер { $staff }, { $date } в { $time }.
booking-calendar-caption = Добавить в календарь
booking-my-button = 📅 Мои записи
booking-just-taken = Это время только что заняли — извините!
booking-not-offered = На это время записаться нельзя. Выберите, пожалуйста, из свободного.
booking-not-found = Мы не нашли такой записи среди ваших.
booking-already-cancelled = Эта запись уже отменена.
booking-none = У вас нет предстоящих записей.
booking-new-button = ✂️ Записаться
booking-list-title = Ваши записи:
booking-item = • { $day } в { $time } — { $service }, мастер { $staff }
booking-move-short = Перенести
booking-cancel-short = Отменить
booking-move-which = Перенести { $when }
booking-cancel-which = Отменить { $when }
booking-none-to-change = У вас нет предстоящих записей — переносить и отменять нечего.
booking-which-move = Какую запись перенести?
booking-which-cancel = Какую запись отменить?
booking-cancel-ask = Отменить запись?
    { $what }
booking-cancel-yes = Да, отменить
booking-cancel-no = Нет, оставить
booking-cancelled = Запись отменена: { $what }
booking-kept = Хорошо, ничего не меняем.
booking-cutoff-hours = Отменить или перенести запись в чате можно не позже чем за { $hours } { $hours ->
        [one] час
        [few] часа
       *[many] часов
    } до начала. { $phone ->
        [none] Позовите оператора
       *[other] Позвоните нам по номеру { $phone } или позовите оператора
    } — постараемся помочь.
booking-cutoff-minutes = Отменить или перенести запись в чате можно не позже чем за { $minutes } мин до начала. { $phone ->
        [none] Позовите оператора
       *[other] Позвоните нам по номеру { $phone } или позовите оператора
    } — постараемся помочь.
operator-button = 👤 Позвать оператора
booking-reminder-24h = ⏰ Напоминаем: завтра в { $time } — { $service }, мастер { $staff }. Придёте?
booking-reminder-2h = ⏰ Через 2 часа, в { $time } — { $service }, мастер { $staff }. Ждём вас!
booking-reminder-today = ⏰ Напоминаем: сегодня в { $time } — { $service }, мастер { $staff }. Придёте?
booking-reminder-soon = ⏰ Скоро, в { $time } — { $service }, мастер { $staff }. Ждём вас!
booking-reminder-confirm = ✅ Приду
booking-see-you = Спасибо, ждём вас!
booking-already-booked = Вы уже записаны: { $what }

## Staff escalation: to the customer
support-opened = Мы передали ваш вопрос специалисту — ответ придёт сюда, в этот чат. Можете пока описать подробности: мы всё передадим.
support-after-hours = Сейчас нерабочее время (поддержка работает { $hours }) — специалист ответит после { $opens }.
support-already-open = Ваш вопрос уже у специалиста — ответ придёт сюда. Всё, что вы напишете, мы передадим.
support-taken = 👤 Специалист подключился к разговору.
support-taken-signed = 👤 К разговору подключился специалист — { $name }.
support-closed-customer = Обращение закрыто. Оцените, пожалуйста, как мы помогли: 1 — плохо, 5 — отлично.
support-thanks-rating = Спасибо за оценку!
support-rated-already = Оценка уже учтена. Спасибо!

## Staff escalation: in the staff group
support-reason-requested = клиент попросил оператора
support-reason-complaint = жалоба
support-reason-misunderstood = бот дважды не понял клиента
support-reason-cancel-order = клиент просит отменить заказ
support-reason-cancel-order-number = клиент просит отменить заказ №{ $number }
support-priority-critical = 🔴 Критично
support-priority-high = 🟠 Высокий
support-priority-normal = 🟢 Нормальный
support-card-title = <b>Обращение №{ $id }</b>
support-card-customer = Клиент: { $name }, { $phone }
support-card-language = Язык: { $language } · Метки: { $tags }
support-card-balance = Баланс: { $balance }
support-card-order = Заказ №{ $number }: { $status }
support-card-booking = Запись: { $when }, { $service }
support-card-reason = Причина: { $reason } · Приоритет: { $priority }
support-card-messages = Последние сообщения клиента:
support-topic-recreated = (Тема была удалена — бот создал её заново, обращение продолжается.)
support-rated = Клиент оценил помощь: { $rating } из 5.
support-general-commands = В группе: /stats — статистика за сегодня, /find телефон или имя — поиск клиента, /broadcast сегмент текст — рассылка клиентам (сначала предпросмотр). В теме клиента: /close, /priority критично|высокий|нормальный, /assign.
support-topic-commands = В теме клиента: /close — закрыть обращение, /priority критично|высокий|нормальный, /assign — взять себе. Остальной текст уходит клиенту.
support-outside-topic = Чтобы ответить клиенту, пишите в его теме — отсюда сообщения клиенту не уходят.
support-unknown-topic = Эта тема не связана ни с одним клиентом — сообщение никому не отправлено.
support-no-open-case = У клиента нет открытого обращения.
support-case-closed = Обращение закрыто — клиент это сообщение не получит. Если нужно продолжить, клиент может снова позвать оператора.
support-priority-set = Приоритет: { $priority }.
support-priority-usage = Укажите приоритет: /priority критично, /priority высокий или /priority нормальный.
support-assigned = Обращение взял(а) { $name }.
support-closed = Обращение закрыто ({ $name }). Клиенту предложено оценить помощь.
support-crm-note = Telegram: обращение №{ $id } передано специалистам — { $reason }, приоритет: { $priority }.
support-closed-detached = Обращение закрыто ({ $name }). Клиент вышел из чата этого обращения — оценку у него не спросить, сообщение о закрытии никому не доставлено.
support-customer-blocked = ⚠️ Клиент заблокировал бота — сообщения ему не доставляются.
support-sla-ping = ⏰ Клиент ждёт ответа уже { $minutes } мин (приоритет: { $priority }).
support-stats =
    <b>Статистика за { $date }</b>
    Запросов: { $requests } ({ $by_intent })
    Бот справился сам: { $automated }
    Передано специалистам: { $escalations }
    Медиана первого ответа: { $median }
support-find-usage = Напишите хотя бы 3 символа: /find +7701 или /find Ерлан.
support-find-none = По запросу «{ $query }» никого не нашлось.
support-find-title = Найдено:
support-find-topic = тема
support-alert-ids = ⚠️ { $who } (Telegram { $user }): за час три запроса чужих или несуществующих заказов, документов или записей (или нажатия не своих кнопок).
support-alert-contact = ⚠️ { $who } (Telegram { $user }): попытка войти с чужим номером телефона.
support-alert-replaced = ⚠️ Номер клиента { $who } подтвердили в другом аккаунте Telegram ({ $new }); прежний аккаунт ({ $old }) отвязан. Если клиент не менял номер или телефон, свяжитесь с ним.
support-left-logout = 🚪 Клиент вышел из кабинета (/logout).
support-left-forget = 🚪 Клиент попросил удалить свои данные (/forget).
support-left-replaced = 🚪 Номер клиента подтвердили в другом аккаунте Telegram, прежний чат отвязан.
support-detached = Ответы в этой теме теперь никому не доставляются. Обращение открыто: когда клиент снова позовёт оператора, оно продолжится здесь; или закройте его командой /close.
support-detached-reply = ⚠️ Клиент вышел из чата этого обращения — сообщение никому не доставлено.
support-customer-back = ↩️ Клиент снова в чате и позвал оператора — ответы снова доходят.
support-not-staff = { $name }, отвечать клиентам и давать команды боту могут только сотрудники (администраторы группы) — ничего не отправлено.
support-big-file = 📎 Клиент прислал файл { $megabytes } МБ — больше лимита Bot API (20 МБ): бот его не скачивает и не проверяет. Копия — ниже, открывайте в Telegram.

## Notifications: the settings (/notifications) and what the bot sends first
notifications-title = 🔔 Уведомления. Нажмите на категорию, чтобы включить или выключить её:
notifications-on = { $category } ✅
notifications-off = { $category } ❌
notifications-category-orders = Заказы
notifications-category-payments = Платежи
notifications-category-bookings = Записи
notifications-category-news = Новости
notifications-category-service = Сервис
notify-payment-due = 💳 { $days ->
        [0] Сегодня
        [1] Завтра
       *[other] Через { $days } { $days ->
            [one] день
            [few] дня
           *[many] дней
        }
    }, { $date }, спишется { $amount } по тарифу. Пополните баланс заранее, чтобы услуги работали без перерыва.
notify-low-balance = ⚠️ На балансе { $balance } — хватит примерно на { $days } { $days ->
        [one] день
        [few] дня
       *[many] дней
    }. Пополните, чтобы услуги не отключились.
notify-order-update = 📦 Заказ №{ $number }: статус изменился.
notify-order-status = 📦 Заказ №{ $number }: { $status }.
notify-button-top-up = Пополнить
notify-button-order = Где заказ

## Events from the business's systems (POST /api/v1/events), sent as notifications
event-payment-received = ✅ Оплата { $amount } получена, спасибо!{ $balance ->
        [none] {""}
       *[other] {" "}Баланс: { $balance }.
    }
event-booking-changed = 📅 { $change ->
        [booked] Вы записаны
        [moved] Ваша запись перенесена
       *[cancelled] Ваша запись отменена
    }{ $when ->
        [none] .
       *[other] : { $when }.
    }

## The notification sender: a blocked customer told to staff, an invoice with its document
notify-staff-blocked = 🚫 Клиент заблокировал бота — уведомление не доставлено.
notify-document = 🧾 Новый документ: { $title }
notify-document-unavailable = 🧾 Выставлен документ: { $title }. Приложить его сейчас не получилось — нажмите кнопку, и мы его пришлём.
notify-button-document = Прислать документ
notify-button-map = Показать на карте

## The Mini App's API (/api/v1/app/): alerts to the staff group
miniapp-alert-unauthorized = ⚠️ { $who } (Telegram { $user }): за час три попытки открыть Mini App с неверными данными входа (подпись не сошлась, данные устарели или их нет). Возможно, кто-то подбирает доступ.
miniapp-alert-unknown-user = Неизвестный пользователь

## Broadcasts from the staff group (/broadcast): preview, confirmation, progress, report
broadcast-usage =
    Рассылка: /broadcast сегмент [служебное] текст
    Сегменты: все · тег:vip · тариф:max · заказ (клиенты с заказом в работе).
    «служебное» — для аварий и работ: получат все, кроме отключивших служебные уведомления; без этого слова рассылка идёт как новости — только тем, кто их включил.
    Текст можно писать со следующей строки. Остановить: /broadcast stop номер.
broadcast-unknown-segment = Не знаю сегмент «{ $segment }».
broadcast-stop-usage = Укажите номер рассылки: /broadcast stop 7.
broadcast-too-long = Текст слишком длинный: { $length } символов, а Telegram принимает не больше { $max }. Сократите его — ничего не сохранено.
broadcast-no-orders = Сегмента «заказ» здесь нет: заказы к боту не подключены.
broadcast-backend-down = Не получилось собрать сегмент: система клиентов не ответила. Попробуйте чуть позже — ничего не сохранено.
broadcast-nobody = В сегменте «{ $segment }» нет ни одного клиента, подключённого к боту, — отправлять некому.
broadcast-segment-all = все клиенты
broadcast-segment-tag = клиенты с тегом «{ $value }»
broadcast-segment-tariff = клиенты на тарифе «{ $value }»
broadcast-segment-active-order = клиенты с заказом в работе
broadcast-preview-title = 📣 <b>Рассылка №{ $id }</b> — черновик
broadcast-preview-segment = Сегмент: { $segment }
broadcast-category-news = Категория: новости (получат только те, кто включил новости)
broadcast-category-service = Категория: служебное (получат все, кроме отключивших)
broadcast-recipients = Получателей: { $recipients } (в сегменте { $in_segment }; { $category ->
        [news] не включили новости
       *[other] отключили служебные
    }: { $opted_out }; заблокировали бота: { $blocked })
broadcast-quiet = 🌙 Сейчас тихие часы — сообщения уйдут в { $end }.
broadcast-preview-text = Клиенты увидят:
broadcast-button-send = Отправить { $count }
broadcast-button-cancel = Отмена
broadcast-button-stop = Остановить
broadcast-only-staff = Запускать и останавливать рассылки могут только сотрудники.
broadcast-unknown = Рассылки №{ $id } нет.
broadcast-started = Рассылка №{ $id } запущена.
broadcast-cancelled = Рассылка №{ $id } отменена — ничего не отправлено.
broadcast-already-running = Рассылка №{ $id } уже идёт.
broadcast-already-cancelled = Рассылка №{ $id } отменена, её не отправить. Наберите /broadcast заново.
broadcast-already-finished = Рассылка №{ $id } уже завершена.
broadcast-stop-draft = Рассылка №{ $id } ещё не запущена — отмените её кнопкой «Отмена».
broadcast-not-running = Рассылка №{ $id } не идёт — останавливать нечего.
broadcast-stopping = Рассылка №{ $id } остановлена: не уйдёт сообщений — { $count }.
broadcast-progress = 📣 Рассылка №{ $id }: отправлено { $sent } из { $total } (пропущено: { $skipped })
broadcast-report =
    📣 <b>Рассылка №{ $id } { $outcome ->
        [stopped] остановлена
       *[done] завершена
    }</b>
    Отправлено: { $sent } из { $total }
    Пропущено: не включили или отключили — { $opted_out }, заблокировали бота — { $blocked }
    Не удалось отправить: { $failed }
    Остановлено: { $stopped }
broadcast-finished = { $outcome ->
        [stopped] ⏹ Рассылка №{ $id } остановлена
       *[done] ✅ Рассылка №{ $id } завершена
    }: отправлено { $sent } из { $total }.

## The Mini App in the chat (F14)
miniapp-menu-button = Личный кабинет
miniapp-open-button = Открыть личный кабинет

## The Mini App's shop and top-up (F14)
shop-category-grocery = Продукты
shop-category-pets = Товары для животных
shop-category-appliances = Техника
miniapp-out-of-stock = Нет в наличии в нужном количестве: { $items }. Заказ не оформлен — уберите или уменьшите эти позиции.
miniapp-top-up-invalid = Введите сумму цифрами: от { $min } до { $max }.

## Support: the customer's own end of a case, idle cases, unidentified people asking for a person
support-person-button = 🙋 Позвать человека
support-offer-person = Простите, мы снова не поняли вопрос. Можно позвать человека — специалист ответит здесь, в этом чате. Или выберите, что вас интересует:
support-solved-button = ✅ Вопрос решён
support-solved-customer = Рады, что вопрос решён! Обращение закрыто — если что-то понадобится, пишите в любое время. Оцените, пожалуйста, как мы помогли: 1 — плохо, 5 — отлично.
support-solved-already = Это обращение уже закрыто. Если нужна помощь, пишите в любое время.
support-solved-note = ✅ Клиент отметил, что вопрос решён, — обращение закрыто.
support-bot-answered = 🤖 Бот ответил на это сам: { $intent } ({ $name }).
support-idle-closed = 💤 В обращении не было сообщений { $hours } ч — оно закрыто автоматически.
support-idle-closed-customer = Мы закрыли ваше обращение: в нём давно не было новых сообщений. Если вопрос остался, просто напишите — мы поможем.
support-stats-unrecognised = <b>Чаще всего бот не понимал (7 дней):</b>
support-stats-unrecognised-none = Непонятых ботом сообщений за 7 дней нет.
staff-lead-operator = 🙋 Просит связаться человек, которого нет среди клиентов: { $name }, телефон { $phone } (Telegram id { $user }). Сообщение: «{ $text }». Позвоните или напишите ему по этому номеру.
lead-operator-sent = Передали вашу просьбу специалисту — с вами свяжутся по номеру, которым вы поделились.
lead-operator-already = Ваша просьба уже у специалиста — с вами свяжутся по номеру, которым вы поделились.
lead-operator-no-phone = Чтобы специалист мог с вами связаться, поделитесь номером телефона — нажмите кнопку «Поделиться номером» внизу экрана.
